"""`concord sandbox stripe --port N --api-key K [--api-key K2] --webhook-url URL --webhook-secret S …`."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from infrastructure.sandboxes.base import Faults


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord sandbox stripe", description="A local Stripe API sandbox.")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--api-key", action="append", required=True, dest="api_keys",
                        help="an accepted secret or restricted key; repeat for several")
    parser.add_argument("--webhook-url", help="where events are POSTed")
    parser.add_argument("--webhook-secret", action="append", default=[], dest="webhook_secrets",
                        help="signing secret; repeat during a rotation (one v1 per secret)")
    parser.add_argument("--rate-limit", type=int, default=25, help="requests per second (Stripe's sandbox: 25)")
    parser.add_argument("--search-lag", type=float, default=0.0,
                        help="seconds before a write is searchable (Stripe: under a minute)")
    faults = parser.add_argument_group("faults")
    for name, kind in (("latency-ms", int), ("error-rate", float), ("throttle-rate", float), ("drop-rate", float),
                       ("drop-event-rate", float), ("duplicate-event-rate", float), ("seed", int)):
        faults.add_argument(f"--{name}", type=kind, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

    args = build_parser().parse_args(argv)
    sandbox = StripeSandbox(args.api_keys, webhook_url=args.webhook_url, webhook_secrets=args.webhook_secrets,
                            rate_limit_per_s=args.rate_limit, search_lag_s=args.search_lag, port=args.port,
                            host=args.host)
    chosen = {name: getattr(args, name) for name in Faults.__dataclass_fields__ if getattr(args, name) is not None}
    sandbox.set_faults(Faults(**chosen))
    print(f"stripe sandbox on {sandbox.start()}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sandbox.stop()
    return 0
