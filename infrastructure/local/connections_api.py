"""The `@connections` management API of the local WebSocket API (what boto3's apigatewaymanagementapi
client calls; CONCORD_WEBSOCKET_MANAGEMENT_URL points at it).

    http://127.0.0.1:M/<stage>/@connections/{id}
        POST   the body is sent to that socket (200); 410 GoneException when it is closed or unknown;
               413 PayloadTooLargeException past 128 KB
        GET    {ConnectedAt, Identity, LastActiveAt};  DELETE  closes it (204)
It has its own port (in AWS it shares the API's host): `websockets` answers only GET upgrades, and the
management client POSTs. Errors carry `x-amzn-ErrorType`, which botocore reads as the error code.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from infrastructure.local.httpd import LocalServer, QuietHandler

if TYPE_CHECKING:
    from infrastructure.local.websocket_api import WebSocketApi

MAX_MESSAGE_BYTES = 128 * 1024
Reply = tuple[int, dict[str, str], bytes]


class ManagementApi(LocalServer):
    """The `@connections` API (what boto3's apigatewaymanagementapi client calls)."""

    def __init__(self, api: WebSocketApi, host: str = "127.0.0.1") -> None:
        self.api = api
        super().__init__(_handler(self), "ws-management", host)

    @property
    def url(self) -> str:
        """CONCORD_WEBSOCKET_MANAGEMENT_URL (in AWS: https://{api}.execute-api.{region}.amazonaws.com/{stage})."""
        return f"http://127.0.0.1:{self.port}/{self.api.stage}"

    def answer(self, method: str, path: str, body: bytes) -> Reply:
        _, marker, tail = urlsplit(path).path.partition("/@connections/")
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
        document = {
            "ConnectedAt": info["at"].strftime(stamp),
            "LastActiveAt": info.get("last", info["at"]).strftime(stamp),
            "Identity": {"SourceIp": info["ip"], "UserAgent": info["agent"]},
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(document).encode()


def _error(status: int, code: str, message: str) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        json.dumps({"message": message}).encode(),
    )


def _gone() -> Reply:
    return _error(410, "GoneException", "")


def _handler(management: ManagementApi) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
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

        do_GET = do_POST = do_DELETE = _serve


    return Handler
