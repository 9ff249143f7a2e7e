"""`concord demo`: the issue-5 scenario end to end on the local stack, printed hop by hop.

    run_demo(vendor="zuora")                 # starts its own stack, runs, stops it
    run_demo(vendor="stripe", attach=True)   # uses the stack of a running `concord dev` (.concord/dev.json)

Exit status 0 only if every step passed. Steps wait for their effects with bounded polling.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from infrastructure.local.demo.output import Console
from infrastructure.local.demo.scenario import Demo
from infrastructure.local.demo.steps import STEPS


def run_demo(vendor: str = "zuora", *, attach: bool = False, state_dir: Path = Path(".concord"),
             plain: bool = False, timeout_s: float = 120.0) -> int:
    out = Console(plain=plain)
    stack = None
    try:
        if attach:
            info = json.loads((state_dir / "dev.json").read_text())
            if info["vendor"] != vendor:
                out.info(f"the running `concord dev` uses {info['vendor']}, not {vendor}: use --vendor "
                         f"{info['vendor']} or restart it")
                return 2
        else:
            from infrastructure.local.stack import LocalStack

            out.info(f"starting the local stack ({vendor}): moto, the sandboxes, the functions…")
            started = time.monotonic()
            stack = LocalStack(vendor=vendor, state_dir=state_dir).start()
            info = stack.describe()
            out.info(f"stack up in {time.monotonic() - started:.0f} s: gateway {info['gateway']}, "
                     f"websocket {info['websocket']}, logs in {info['logs']}")
        return _run(out, info, timeout_s)
    finally:
        if stack is not None:
            stack.stop()


def _run(out: Console, info: dict[str, Any], timeout_s: float) -> int:
    os.environ.update(info["env"])  # this process reads the event store and secrets as the CLI would
    demo, closers = _prepare(out, info, timeout_s)
    rows, failed = [], 0
    try:
        for number, (title, step) in enumerate(STEPS, start=1):
            out.step(number, title)
            started = time.monotonic()
            try:
                result, status = step(demo), "passed"
                out.ok(result)
            except KeyError as exc:
                result, status = f"skipped: needs {exc} from an earlier step", "FAILED"
                out.fail(result)
            except Exception as exc:  # one failed step is reported; the others still run
                result, status = str(exc), "FAILED"
                out.fail(result)
            failed += status != "passed"
            rows.append([str(number), title, status, f"{time.monotonic() - started:.1f}", result])
    finally:
        for close in closers:
            close()
    out.table(f"concord demo ({info['vendor']}): {len(rows) - failed} of {len(rows)} steps passed",
              ["#", "step", "result", "s", "detail"], rows)
    return 1 if failed else 0


def _prepare(out: Console, info: dict[str, Any], timeout_s: float) -> tuple[Demo, list[Any]]:
    from infrastructure.local.demo.billing import billing_user
    from infrastructure.local.demo.crm import CrmUser
    from infrastructure.local.demo.observe import ConcordView

    carrier = _carrier(out, info)
    listener = _listener(out, info)
    sandboxes, credentials = info["sandboxes"], info["credentials"]
    crm = CrmUser(sandboxes["salesforce"], **credentials["salesforce"])
    demo = Demo(out=out, crm=crm, billing=billing_user(info["vendor"], sandboxes, credentials),
                view=ConcordView(info["env"]), carrier=carrier, listener=listener, gateway=info["gateway"],
                api_key=info["demoSource"]["apiKey"], timeout_s=timeout_s)
    return demo, [listener.stop, carrier.stop, crm.close]


def _carrier(out: Console, info: dict[str, Any]) -> Any:
    """The carrier listens, then is registered as a destination (`concord destinations add`)."""
    import boto3

    from adapters.aws.gateway_tables import DestinationsTable
    from application.delivery.admin import new_destination
    from infrastructure.local.demo.carrier import Carrier

    carrier = Carrier()
    carrier.start()
    destination, carrier.secret = new_destination(name="demo-carrier", url=carrier.url,
                                                  event_names=["Order.Activated"], rate_per_s=5)
    DestinationsTable(boto3.client("dynamodb"), info["tables"]["DestinationsTable"]).add(destination)
    out.hop("carrier", f"listening on {carrier.url}, registered for Order.Activated")
    return carrier


def _listener(out: Console, info: dict[str, Any]) -> Any:
    """A WebSocket client of room "all", with a token as `concord notifications token --room all` issues."""
    import boto3

    from adapters.ws_tokens import issue
    from infrastructure.local.demo.listener import Listener

    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=f"concord/{info['stage']}/websocket-jwt")["SecretString"]
    forged = issue("a-forged-secret-of-the-right-length-0123", subject="demo", room="all")
    refused = Listener.refused_status(info["websocket"], forged)
    out.hop("websocket", f"a forged token is refused with HTTP {refused}")
    def show(message: dict[str, Any]) -> None:
        out.hop("websocket", f"{message.get('event')} (correlation {message.get('correlationId')})")

    listener = Listener(info["websocket"], issue(secret, subject="demo", room="all"), show)
    listener.start()
    out.hop("websocket", "connected to room 'all'")
    return listener
