"""API Gateway WebSocket API on 127.0.0.1 (the `websockets` package) and its `@connections` management API.

    ws://127.0.0.1:P/?token=JWT   $connect -> the connect function; a non-2xx statusCode refuses the
                                  upgrade with that status (a 401 for a bad token); $disconnect -> the
                                  disconnect function when the socket closes, whoever closed it
    client messages               no $default route in the template: API Gateway answers "Forbidden"
    http://127.0.0.1:M/<stage>/@connections/{id}
        POST   the body is sent to that socket (200); 410 GoneException when it is closed or unknown;
               413 PayloadTooLargeException past 128 KB
        GET    {ConnectedAt, Identity, LastActiveAt};  DELETE  closes it (204)
The management API is on its own port (in AWS it shares the API's host): `websockets` answers only
GET upgrades, and boto3's apigatewaymanagementapi client POSTs.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from base64 import b64encode
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from infrastructure.local.functions import FunctionError, LocalFunction

MAX_MESSAGE_BYTES = 128 * 1024


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
        context = {"routeKey": route, "eventType": route.strip("$").upper(), "messageDirection": "IN",
                   "stage": self.stage, "connectedAt": self.info.get(connection_id, {}).get("epoch_ms"),
                   "requestTimeEpoch": int(now.timestamp() * 1000), "requestId": uuid.uuid4().hex,
                   "domainName": f"127.0.0.1:{self.port}", "connectionId": connection_id, "apiId": self.api_id}
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
        self.info[connection_id] = {"epoch_ms": int(now.timestamp() * 1000), "at": now,
                                    "ip": connection.remote_address[0] if connection.remote_address else "",
                                    "agent": request.headers.get("User-Agent", "")}
        if self.connect is not None:
            status = await asyncio.to_thread(self._invoke_connect, self._event("$connect", connection_id, request))
            if not 200 <= status < 300:
                self.info.pop(connection_id, None)
                return connection.respond(status, "Forbidden\n" if status == 403 else "Unauthorized\n"
                                          if status == 401 else "Internal server error\n")
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
                await connection.send(json.dumps({"message": "Forbidden", "connectionId": connection_id,
                                                  "requestId": uuid.uuid4().hex}))
        except ConnectionClosed:
            pass
        finally:
            self.sockets.pop(connection_id, None)
            if self.disconnect is not None:
                await asyncio.to_thread(self._invoke_disconnect, self._event("$disconnect", connection_id))
            self.info.pop(connection_id, None)

    def _invoke_disconnect(self, event: dict[str, Any]) -> None:
        assert self.disconnect is not None
        try:
            self.disconnect.invoke(event)
        except FunctionError:
            pass  # API Gateway does not retry $disconnect either; the TTL sweeps the row

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


class ManagementApi:
    """The `@connections` API (what boto3's apigatewaymanagementapi client calls)."""

    def __init__(self, api: WebSocketApi, host: str = "127.0.0.1") -> None:
        self.api = api
        self._server = ThreadingHTTPServer((host, 0), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="ws-management", daemon=True)

    @property
    def url(self) -> str:
        """CONCORD_WEBSOCKET_MANAGEMENT_URL: https://{api}.execute-api.{region}.amazonaws.com/{stage} in AWS."""
        return f"http://127.0.0.1:{self.port}/{self.api.stage}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        head, marker, tail = urlsplit(path).path.partition("/@connections/")
        if not marker or not tail:
            return _error(404, "NotFoundException", "Not Found")
        connection_id = unquote(tail)
        if method == "POST":
            if len(body) > MAX_MESSAGE_BYTES:
                return _error(413, "PayloadTooLargeException", "Message too long")
            return (200, {}, b"") if self.api.post(connection_id, body) else _gone()
        if method == "DELETE":
            return (204, {}, b"") if self.api.close(connection_id) else _gone()
        info = self.api.info.get(connection_id)
        if method != "GET" or info is None or connection_id not in self.api.sockets:
            return _gone() if method == "GET" else _error(405, "MethodNotAllowed", "use GET, POST or DELETE")
        stamp = "%Y-%m-%dT%H:%M:%S.000Z"
        document = {"ConnectedAt": info["at"].strftime(stamp), "LastActiveAt": info.get("last", info["at"]).strftime(
            stamp), "Identity": {"SourceIp": info["ip"], "UserAgent": info["agent"]}}
        return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
        {"message": message}).encode()


def _gone() -> tuple[int, dict[str, str], bytes]:
    return _error(410, "GoneException", "")


def _handler(management: ManagementApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, out = management.answer(self.command, self.path, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's signature
            pass

    return Handler
