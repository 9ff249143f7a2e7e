"""A WebSocket client of the notifications API: connects with a room token (`concord notifications
token --room all`) and keeps every message it is sent, in order, from a background thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect


class Listener:
    def __init__(
        self, url: str, token: str, on_message: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        self.url, self.token, self.on_message = url, token, on_message
        self.messages: list[dict[str, Any]] = []
        self._socket: ClientConnection | None = None
        self._thread = threading.Thread(target=self._run, name="ws-listener", daemon=True)

    def start(self, timeout_s: float = 60) -> None:
        """Connect ($connect runs the connect function: a cold start) and listen in the background."""
        self._socket = connect(f"{self.url}/?token={self.token}", open_timeout=timeout_s)
        self._thread.start()

    @staticmethod
    def refused_status(url: str, token: str) -> int | None:
        """The HTTP status that refused an upgrade with this token, or None if it was accepted."""
        try:
            with connect(f"{url}/?token={token}", open_timeout=60):
                return None
        except InvalidStatus as exc:
            return exc.response.status_code

    def events(self) -> list[str]:
        return [str(m.get("event")) for m in self.messages]

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._thread.join(5)

    def _run(self) -> None:
        assert self._socket is not None
        try:
            for raw in self._socket:
                message = json.loads(raw)
                self.messages.append(message)
                if self.on_message is not None:
                    self.on_message(message)
        except ConnectionClosed:
            return
