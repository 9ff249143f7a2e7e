"""What an operator runs against the local stack, in a process of its own with the stack's environment
(CONCORD_* and AWS_*, as `concord` reads it from .concord/dev.json): concord's wiring builds its
clients once per process from that environment, so this never runs inside the test process.

    cli_reconcile(environment)        ONE `concord reconcile --repair --entity all --json` (product,
                                      account, order: each needs the one before), the real CLI
    python -m tests.chaos.local_stack.operator orders < ids.json  concord's status of each order
    python -m tests.chaos.local_stack.operator reconcile          the same reconcile through
                                      application.consistency's functions (before the CLI had --entity)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


def _services() -> Any:
    from infrastructure.container import Container

    return Container().services()


def reconcile() -> dict[str, Any]:
    from application.consistency import reconcile_accounts, reconcile_orders, reconcile_products

    svc, found = _services(), {}
    for name, run in (("product", reconcile_products), ("account", reconcile_accounts),
                      ("order", reconcile_orders)):
        started = time.monotonic()
        report = run(svc, repair=True, correlation_id=f"chaos-local-reconcile-{name}")
        found[name] = {"counts": dict(report.counts), "repaired": report.repaired,
                       "records": report.records, "seconds": round(time.monotonic() - started, 1),
                       "examples": {k: v[:2] for k, v in report.examples.items()}}
    return found


def orders(ids: list[str]) -> dict[str, str | None]:
    from domain.order import Order

    app = _services().app
    statuses: dict[str, str | None] = {}
    for order_id in ids:
        order = app.get_or_none(Order, order_id)
        statuses[order_id] = None if order is None else str(order.status.value)
    return statuses


def _environment(environment: Mapping[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CONCORD_", "AWS_"))}
    env.update(environment)
    env["PYTHONPATH"] = str(ROOT)
    return env


def run(command: str, environment: Mapping[str, str], payload: Any = None, *, timeout_s: float = 900) -> Any:
    """Run one operator command in its own process; its JSON answer."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.chaos.local_stack.operator", command],
        input=json.dumps(payload), capture_output=True, text=True, timeout=timeout_s,
        env=_environment(environment), cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"operator {command} failed ({done.returncode}): {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_reconcile(environment: Mapping[str, str], workdir: Path, *, timeout_s: float = 1800) -> dict[str, Any]:
    """`concord reconcile --repair --entity all --json` as an operator types it, against the stack.
    Run in `workdir` (no .concord/dev.json of another stack there); exit 1 only says drift was left."""
    done = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "reconcile", "--repair", "--entity", "all", "--json"],
        capture_output=True, text=True, timeout=timeout_s, env=_environment(environment), cwd=workdir,
        check=False)
    start = done.stdout.find("{")
    if done.returncode not in (0, 1) or start < 0:
        raise RuntimeError(f"concord reconcile failed ({done.returncode}): {done.stderr[-3000:]}")
    reports: dict[str, Any] = json.loads(done.stdout[start:])
    return {entity: {"counts": report["counts"], "repaired": report["repaired"], "records": report["records"],
                     "examples": {k: v[:2] for k, v in report["examples"].items()}}
            for entity, report in reports.items()}


def main() -> None:
    import logging

    logging.disable(logging.ERROR)  # a line per record otherwise; the JSON answer says it all
    command = sys.argv[1]
    if command == "reconcile":
        answer: Any = reconcile()
    elif command == "orders":
        answer = orders(json.loads(sys.stdin.read() or "[]"))
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(answer, default=str))


if __name__ == "__main__":
    main()
