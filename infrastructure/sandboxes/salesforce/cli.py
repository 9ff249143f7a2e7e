"""`concord sandbox salesforce ...`: one Salesforce sandbox alone (the lead wires `main` into the CLI)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from infrastructure.sandboxes.base import Faults
from infrastructure.sandboxes.salesforce.server import SalesforceSandbox
from infrastructure.sandboxes.salesforce.sink import PutEventsSink


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord sandbox salesforce", description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--token-lifetime", type=float, default=7200, help="seconds a session lives")
    parser.add_argument("--api-version", default="60.0")
    parser.add_argument("--daily-limit", type=int, default=100000)
    parser.add_argument("--jwt-public-key", help="PEM file of the connected app's certificate key")
    parser.add_argument("--aws-endpoint", help="EventBridge endpoint (moto) for the relay's events")
    parser.add_argument("--partner-bus", help="partner event bus name; default: the envelope's source")
    parser.add_argument("--region", default="us-east-1")
    for name, kind in (("latency-ms", int), ("error-rate", float), ("throttle-rate", float),
                       ("drop-rate", float), ("drop-event-rate", float), ("duplicate-event-rate", float)):
        parser.add_argument(f"--{name}", type=kind, default=0)
    parser.add_argument("--seed", type=int)
    return parser


def build(args: argparse.Namespace) -> SalesforceSandbox:
    sink = PutEventsSink(args.aws_endpoint, args.partner_bus, args.region) if args.aws_endpoint else None
    public_key = None
    if args.jwt_public_key:
        with open(args.jwt_public_key, encoding="utf-8") as handle:
            public_key = handle.read()
    sandbox = SalesforceSandbox(args.client_id, args.client_secret, token_lifetime_s=args.token_lifetime,
                                api_version=args.api_version, daily_limit=args.daily_limit,
                                jwt_public_key_pem=public_key, events_to=sink, port=args.port, host=args.host)
    if sink is not None:
        sandbox.relay_created_hook = sink.create_partner_source
    sandbox.set_faults(Faults(latency_ms=args.latency_ms, error_rate=args.error_rate,
                              throttle_rate=args.throttle_rate, drop_rate=args.drop_rate,
                              drop_event_rate=args.drop_event_rate, duplicate_event_rate=args.duplicate_event_rate,
                              seed=args.seed))
    return sandbox


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sandbox = build(args)
    url = sandbox.start()
    print(f"salesforce sandbox on {url} (org {sandbox.org_id}, events from {sandbox.emitter.source})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
