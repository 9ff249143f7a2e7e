"""API Gateway WebSocket API on 127.0.0.1 (the `websockets` package); its `@connections` management API is
connections_api.py.

    ws://127.0.0.1:P/?token=JWT   $connect -> the connect function; a non-2xx statusCode refuses the
                                  upgrade with that status (a 401 for a bad token); $disconnect -> the
                                  disconnect function when the socket closes, whoever closed it
    client messages               no $default route in the template: API Gateway answers "Forbidden"
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from base64 import b64encode
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from infrastructure.local.connections_api import ManagementApi
from infrastructure.local.functions import FunctionError, LocalFunction


def _now() -> datetime:
    return datetime.now(UTC)


class WebSocketApi:
    def __init__(self, connect: LocalFunction | None, disconnect: LocalFunction | None, *, stage: str,
                 host: str = "127.0.0.1") -> None:
        self.connect, self.disconnect, self.stage, self.host = connect, disconnect, stage, host
        self.api_id = uuid.uuid4().hex[:10]
        self.sockets: dict[str, ServerConnection] = {}
        self.info: dict[str, dict[str, Any]] = {}
        self._ids: dict[ServerConnection, str] = {}
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="websocket-api", daemon=True)
        self.port = 0
        self.management = ManagementApi(self)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the WebSocket API did not start")
        self.management.start()
        return self.url

    def stop(self) -> None:
        self.management.stop()
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # -- the event loop thread ---------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open())
        self._loop.run_forever()
        self._loop.close()

    async def _open(self) -> None:
        self._server = await serve(self._session, self.host, 0, process_request=self._on_connect)
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self._started.set()

    async def _close(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def _event(self, route: str, connection_id: str, request: Request | None = None) -> dict[str, Any]:
        now = _now()
        context = {
            "routeKey": route,
            "eventType": route.strip("$").upper(),
            "messageDirection": "IN",
            "stage": self.stage,
            "connectedAt": self.info.get(connection_id, {}).get("epoch_ms"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": uuid.uuid4().hex,
            "domainName": f"127.0.0.1:{self.port}",
            "connectionId": connection_id,
            "apiId": self.api_id,
        }
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if request is not None:
            query = parse_qs(urlsplit(request.path).query)
            event["headers"] = {k: v for k, v in request.headers.raw_items()}
            if query:
                event["queryStringParameters"] = {k: v[-1] for k, v in query.items()}
        return event

    async def _on_connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = b64encode(uuid.uuid4().bytes[:12]).decode()
        now = _now()
        self.info[connection_id] = {
            "epoch_ms": int(now.timestamp() * 1000),
            "at": now,
            "ip": connection.remote_address[0] if connection.remote_address else "",
            "agent": request.headers.get("User-Agent", ""),
        }
        if self.connect is not None:
            status = await asyncio.to_thread(
                self._invoke_connect, self._event("$connect", connection_id, request)
            )
            if not 200 <= status < 300:
                self.info.pop(connection_id, None)
                return connection.respond(
                    status,
                    "Forbidden\n"
                    if status == 403
                    else "Unauthorized\n"
                    if status == 401
                    else "Internal server error\n",
                )
        self._ids[connection] = connection_id
        return None

    def _invoke_connect(self, event: dict[str, Any]) -> int:
        assert self.connect is not None
        try:
            result = self.connect.invoke(event)
        except FunctionError:
            return 500
        return int(result.get("statusCode", 200)) if isinstance(result, dict) else 200

    async def _session(self, connection: ServerConnection) -> None:
        connection_id = self._ids.pop(connection)
        self.sockets[connection_id] = connection
        try:
            async for _ in connection:
                self.info[connection_id]["last"] = _now()
                await connection.send(
                    json.dumps(
                        {"message": "Forbidden", "connectionId": connection_id, "requestId": uuid.uuid4().hex}
                    )
                )
        except ConnectionClosed:
            pass
        finally:
            self.sockets.pop(connection_id, None)
            if self.disconnect is not None:
                await asyncio.to_thread(self._invoke_disconnect, self._event("$disconnect", connection_id))
            self.info.pop(connection_id, None)

    def _invoke_disconnect(self, event: dict[str, Any]) -> None:
        assert self.disconnect is not None
        # API Gateway does not retry $disconnect either: the connections table's TTL sweeps the row.
        with contextlib.suppress(FunctionError):
            self.disconnect.invoke(event)

    # -- what the management API does on the loop ----------------------------------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        connection = self.sockets.get(connection_id)
        if connection is None:
            return False
        try:
            message: str | bytes = data.decode("utf-8")
        except UnicodeDecodeError:
            message = data
        try:
            asyncio.run_coroutine_threadsafe(connection.send(message), self._loop).result(10)
        except ConnectionClosed:
            return False
        return True

    def close(self, connection_id: str) -> bool:
        connection = self.sockets.get(connection_id)
        if connection is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.close(), self._loop).result(10)
        return True
