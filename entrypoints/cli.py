"""The `concord` command (DESIGN §8). Parse, call one operation, print; `--json` on read commands.

Each sub-command imports what it needs when it runs, so `concord --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from entrypoints import cli_ops


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="concord", description="Keeps a CRM and a billing system in agreement.")
    sub = parser.add_subparsers(dest="command", required=True)
    _local(sub)
    sandbox = sub.add_parser("sandbox", help="run one vendor sandbox alone", add_help=False)
    sandbox.add_argument("vendor", choices=["salesforce", "zuora", "stripe"])
    sandbox.set_defaults(func=cli_ops.sandbox, passthrough=True)
    cli_ops.add_read_parsers(sub)
    cli_ops.add_admin_parsers(sub)
    from entrypoints.cli_gateway import add_parsers as gateway_parsers
    from entrypoints.cli_replay import add_parsers as replay_parsers

    gateway_parsers(sub)
    replay_parsers(sub)
    return parser


def _local(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    try:
        from infrastructure.local.cli import add_parsers
    except ImportError:  # the local stack needs the `local` extra (moto, websockets)
        for name in ("dev", "demo"):
            sub.add_parser(name, help="needs `pip install concord[local]`").set_defaults(func=cli_ops.needs_local)
        return
    add_parsers(sub)


LOCAL_STACK = Path(".concord") / "dev.json"


def use_local_stack(path: Path = LOCAL_STACK) -> bool:
    """With a `concord dev` running here, the operator commands talk to it: its environment (moto's
    endpoint, the event store, stage) fills in whatever the shell did not set."""
    if not path.is_file():
        return False
    try:
        env = json.loads(path.read_text()).get("env") or {}
    except (OSError, ValueError):
        return False
    for name, value in env.items():
        os.environ.setdefault(name, str(value))
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] not in (["dev"], ["demo"], ["sandbox"]):
        use_local_stack()
    parser = build_parser()
    if args_list[:1] == ["sandbox"]:  # the sandbox parses its own flags (credentials, faults)
        return cli_ops.run_sandbox(args_list[1:])
    args = parser.parse_args(args_list)
    result = args.func(args)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
