"""moto in server mode in its own process (infrastructure/local/moto_server.py: requests serialised).

Its own process, not a thread of the stack: on two cores moto's request handling would otherwise
share one interpreter lock with the pollers, the sandboxes and the HTTP edges.

    handle = start_moto_process()   # handle.url, handle.stop()
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class MotoProcess:
    url: str
    process: subprocess.Popen[str]

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(OSError):
                self.process.stdin.close()  # EOF on stdin: the child stops its server and exits
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_moto_process(timeout_s: float = 60.0) -> MotoProcess:
    process = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.local.moto_process"], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, cwd=str(PROJECT_ROOT))
    assert process.stdout is not None
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(process.stdout.readline().strip()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found or not found[0].startswith("http://"):
        process.kill()
        raise RuntimeError(f"moto did not start within {timeout_s:.0f} s")
    return MotoProcess(found[0], process)


def _serve() -> None:
    from infrastructure.local.moto_server import start_moto_server

    handle = start_moto_server()
    print(handle.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    handle.stop()


if __name__ == "__main__":
    _serve()
