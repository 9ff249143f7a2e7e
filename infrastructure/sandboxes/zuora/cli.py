"""`concord sandbox zuora --port N --client-id X --client-secret Y [--token-lifetime S]
[--callout-url URL --callout-user U --callout-password P] [--order-delay S] [faults...]`."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence

from infrastructure.sandboxes.base import Faults
from infrastructure.sandboxes.zuora.app import ZuoraSandbox


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord sandbox zuora", description="A local Zuora tenant.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--client-secret", required=True)
    parser.add_argument("--token-lifetime", type=float, default=3599.0, help="seconds (Zuora: 3599)")
    parser.add_argument("--rate-limit", type=int, default=50000, help="API requests per window")
    parser.add_argument("--rate-window", type=float, default=60.0, help="seconds")
    parser.add_argument("--order-delay", type=float, default=0.0, help="seconds an order runs before it applies")
    parser.add_argument("--callout-url")
    parser.add_argument("--callout-user")
    parser.add_argument("--callout-password")
    faults = parser.add_argument_group("faults")
    for name, kind in (("latency-ms", int), ("error-rate", float), ("throttle-rate", float), ("drop-rate", float),
                       ("drop-event-rate", float), ("duplicate-event-rate", float), ("seed", int)):
        faults.add_argument(f"--{name}", type=kind, default=None)
    return parser


def sandbox_from(args: argparse.Namespace) -> ZuoraSandbox:
    sandbox = ZuoraSandbox(args.client_id, args.client_secret, token_lifetime_s=args.token_lifetime,
                           rate_limit=(args.rate_limit, args.rate_window), callout_url=args.callout_url,
                           callout_user=args.callout_user, callout_password=args.callout_password,
                           order_delay_s=args.order_delay, port=args.port, host=args.host)
    chosen = {name: getattr(args, name) for name in Faults.__dataclass_fields__ if getattr(args, name) is not None}
    sandbox.set_faults(Faults(**chosen))
    return sandbox


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    sandbox = sandbox_from(args)
    url = sandbox.start()
    print(f"zuora sandbox on {url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
