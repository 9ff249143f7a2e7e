"""moto in server mode, on 127.0.0.1 and a free port, with its requests serialised.

    handle = start_moto_server()
    handle.url      # "http://127.0.0.1:<port>": give it to boto3 as AWS_ENDPOINT_URL
    handle.reset()  # POST /moto-api/reset: every backend back to empty
    handle.stop()

Why serialised: moto 5.2's DynamoDB backend is not thread-safe. TransactWriteItems deep-copies the
table, applies the items and restores the copy on cancellation, so two transactions running at once
in werkzeug's threads can undo each other's writes. One lock around the WSGI call (and around the
draining of its response body) makes moto see one request at a time, as a real service would
linearise them, while clients still run concurrently over real HTTP.

Why item-level rollback: that whole-table deep copy makes every transaction O(table size), its
stream records included (about 0.5 ms per item here), so a table of a few thousand events takes
seconds per save. `start_moto_server` therefore has moto skip the table copy and instead keeps the
prior state of just the items the transaction names (and the stream length), restoring them if
the transaction fails. Same outcome, O(items in the transaction). Pass item_rollback=False for
moto exactly as shipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, make_server

__all__ = ["MotoServerHandle", "start_moto_server"]

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerialisedWsgiApp:
    """Runs the wrapped WSGI app for one request at a time."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            body = self._app(environ, start_response)
            try:
                # Drain inside the lock: a lazy body would run backend code after the lock is released.
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()


def _quiet_handler() -> type[Any]:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        """Keeps errors on stderr but not one access-log line per request."""

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

    return QuietRequestHandler


@dataclass
class MotoServerHandle:
    """A running moto server. `url` is its endpoint; `stop()` shuts it down and joins its thread."""

    url: str
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def reset(self) -> None:
        """Empty every moto backend (tables, queues, buses...), as a fresh server would be."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=30).raise_for_status()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def start_moto_server(host: str = "127.0.0.1", *, item_rollback: bool = True) -> MotoServerHandle:
    """Start moto's WSGI app in a background threaded werkzeug server on a free port."""
    # Imported here: moto is a test dependency and loads slowly; importing this module stays cheap.
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if item_rollback:
        from infrastructure.local.moto_rollback import install_item_level_rollback

        install_item_level_rollback()
    app = SerialisedWsgiApp(DomainDispatcherApplication(create_backend_app))
    server = make_server(host, 0, app, threaded=True, request_handler=_quiet_handler())
    thread = threading.Thread(target=server.serve_forever, name="moto-server", daemon=True)
    thread.start()
    return MotoServerHandle(url=f"http://{host}:{server.server_port}", _server=server, _thread=thread)
