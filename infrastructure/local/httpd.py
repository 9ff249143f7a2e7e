"""The base of the local HTTP endpoints (HTTP API, @connections, Invoke API, the extension)."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LocalServer:
    """A threaded HTTP server on loopback in a daemon thread: what every local endpoint shares."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=name, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._thread.start()
        return self.url

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """No access log on stderr; a caller that hung up before its answer (a webhook sender's timeout)
    is not an error of ours: the answer is dropped, as a real endpoint drops it."""

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass
