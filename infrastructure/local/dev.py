"""`concord dev [--port N] [--vendor zuora|stripe] [--event-store dynamodb|sqlite]`: the local stack,
until Ctrl-C. It writes .concord/dev.json (every endpoint, the queues, the demo source's key, and the
`env` a shell needs to point concord's CLI at it) and removes it when it stops."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from infrastructure.local.stack import LocalStack


def run_dev(*, port: int = 0, vendor: str = "zuora", event_store: str = "dynamodb",
            state_dir: Path = Path(".concord"), ready: threading.Event | None = None,
            stop: threading.Event | None = None) -> int:
    """Blocks until SIGINT/SIGTERM (or `stop` is set); `ready` is set once dev.json is written."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    stop = stop or threading.Event()
    previous = _on_signals(stop)
    print(f"starting the local stack ({vendor}, event store {event_store})…", flush=True)
    stack = LocalStack(vendor=vendor, port=port, event_store=event_store, state_dir=state_dir)
    path = None
    try:
        stack.start()
        path = stack.write_description()
        _print_summary(stack, path)
        if ready is not None:
            ready.set()
        stop.wait()
        print("stopping…", flush=True)
    finally:
        stack.stop()
        if path is not None:
            path.unlink(missing_ok=True)
        _restore(previous)
    return 0


def _print_summary(stack: LocalStack, path: Path) -> None:
    info = stack.describe()
    print(f"gateway     {info['gateway']}   (GET /health, GET /openapi.json, POST /events)")
    print(f"websocket   {info['websocket']}/?token=…   (`concord notifications token --room all`)")
    print(f"moto        {info['moto']}")
    for name, url in info["sandboxes"].items():
        print(f"{name:<11} {url}")
    if info["missingFunctions"]:
        print(f"not run (no handler module yet): {', '.join(sorted(info['missingFunctions']))}")
    print(f"endpoints, queues and credentials: {path}   function logs: {info['logs']}")
    print("to point the concord CLI at this stack:")
    print(
        "  "
        + " ".join(f"{k}={v}" for k, v in sorted(info["env"].items()) if k.startswith(("AWS_", "CONCORD_S")))
    )
    print("ready; Ctrl-C stops everything", flush=True)


def _on_signals(stop: threading.Event) -> dict[int, object]:
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict[int, object]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)  # type: ignore[arg-type]
