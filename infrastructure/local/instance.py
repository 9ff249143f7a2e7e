"""One execution environment: `python -m infrastructure.local.worker HANDLER LOG` started with exactly the
function's environment, spoken to in JSON lines over its stdin/stdout (worker.py is the other end)."""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

INIT_ALLOWANCE_S = 10.0  # Lambda's INIT phase has its own 10 s limit, on top of the function timeout
PROJECT_ROOT = Path(__file__).resolve().parents[2]


class FunctionError(Exception):
    """The invocation failed as Lambda reports it: errorType and errorMessage."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type, self.message = error_type, message


class Instance:
    def __init__(self, name: str, handler: str, environment: Mapping[str, str], log_path: Path) -> None:
        self.name, self.warm = name, False
        env = {**environment, "PYTHONPATH": str(PROJECT_ROOT)}
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module, no shell
            [sys.executable, "-m", "infrastructure.local.worker", handler, str(log_path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=os.getcwd(), text=True,
            encoding="utf-8", bufsize=1)

    def call(self, event: Any, timeout_s: float) -> Any:
        """The handler's result; FunctionError (Sandbox.Timedout: the caller must kill this instance)."""
        wait_s = timeout_s + (0 if self.warm else INIT_ALLOWANCE_S)
        reply = self._exchange(json.dumps({"id": str(uuid.uuid4()), "event": event,
                                           "deadline": time.time() + wait_s}), wait_s)
        if reply is None:
            raise FunctionError("Sandbox.Timedout", f"Task timed out after {timeout_s:.2f} seconds")
        if not reply:
            raise FunctionError("Runtime.ExitError", f"{self.name}: the execution environment exited")
        self.warm = True
        answer = json.loads(reply)
        if answer["outcome"] == "error":
            payload = answer["payload"]
            raise FunctionError(str(payload.get("errorType")), str(payload.get("errorMessage")))
        return answer["payload"]

    def _exchange(self, line: str, wait_s: float) -> str | None:
        """The reply line; None on timeout; "" when the process is gone."""
        assert self.process.stdin is not None and self.process.stdout is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
            ready, _, _ = select.select([self.process.stdout], [], [], wait_s)
            return self.process.stdout.readline() if ready else None
        except (OSError, ValueError):
            return ""

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)

    def shutdown(self) -> None:
        """EOF on its stdin ends the worker's loop; a worker that lingers is killed."""
        with contextlib.suppress(OSError, ValueError):
            assert self.process.stdin is not None
            self.process.stdin.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()
