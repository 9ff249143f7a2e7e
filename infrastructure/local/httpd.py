"""The base of the local HTTP endpoints (HTTP API, @connections, Invoke API, the extension)."""

from __future__ import annotations

import contextlib
from http.server import BaseHTTPRequestHandler
from typing import Any


class QuietHandler(BaseHTTPRequestHandler):
    """No access log on stderr; a caller that hung up before its answer (a webhook sender's timeout)
    is not an error of ours: the answer is dropped, as a real endpoint drops it."""

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass
