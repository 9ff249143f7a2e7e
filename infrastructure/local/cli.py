"""`concord dev` and `concord demo`: registered on the lead's parser by entrypoints/cli.py."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parsers(subparsers: Any) -> None:
    dev = subparsers.add_parser(
        "dev", help="the local stack: moto, the vendor sandboxes and concord, until Ctrl-C"
    )
    dev.add_argument(
        "--port", type=int, default=0, help="the gateway's port on 127.0.0.1 (default: any free one)"
    )
    dev.add_argument("--vendor", choices=["zuora", "stripe"], default="zuora", help="the billing system")
    dev.add_argument(
        "--event-store",
        choices=["dynamodb", "sqlite"],
        default="dynamodb",
        help="dynamodb (on moto, the stream path runs) or sqlite (quick; no outbox relay)",
    )
    dev.add_argument("--state-dir", default=".concord", help="where dev.json and the function logs go")
    dev.set_defaults(func=_dev)
    demo = subparsers.add_parser("demo", help="the end-to-end scenario on its own local stack (or --attach)")
    demo.add_argument("--vendor", choices=["zuora", "stripe"], default="zuora")
    demo.add_argument(
        "--attach", action="store_true", help="use the running `concord dev` (.concord/dev.json)"
    )
    demo.add_argument("--plain", action="store_true", help="plain text, no colours or tables")
    demo.add_argument("--timeout", type=float, default=120.0, help="seconds each effect may take to show")
    demo.add_argument("--state-dir", default=".concord")
    demo.set_defaults(func=_demo)


def _dev(args: argparse.Namespace) -> int:
    from infrastructure.local.dev import run_dev

    return run_dev(
        port=args.port, vendor=args.vendor, event_store=args.event_store, state_dir=Path(args.state_dir)
    )


def _demo(args: argparse.Namespace) -> int:
    import logging

    from infrastructure.local.demo import run_demo

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    return run_demo(
        args.vendor,
        attach=args.attach,
        state_dir=Path(args.state_dir),
        plain=args.plain,
        timeout_s=args.timeout,
    )
