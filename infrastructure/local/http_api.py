"""API Gateway HTTP API (payload format 2.0, Lambda proxy) on 127.0.0.1 over real HTTP.

Only the template's routes reach a function; any other method/path gets API Gateway's own
`404 {"message":"Not Found"}`. A function error answers `500 {"message":"Internal Server Error"}`,
a timeout (API Gateway waits at most 30 s) `503 {"message":"Service Unavailable"}`. Request headers
are lower-cased and repeated ones comma-joined; a body that is not UTF-8 text is base64-encoded
(isBase64Encoded), as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infrastructure.local.functions import FunctionError, LocalFunction
from infrastructure.local.httpd import LocalServer, QuietHandler

MAX_BODY_BYTES = 10 * 1024 * 1024
_TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


def proxy_event(method: str, raw_path: str, headers: Mapping[str, str], body: bytes, *, api_id: str,
                source_ip: str) -> dict[str, Any]:
    parts = urlsplit(raw_path)
    route = f"{method} {parts.path}"
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": route, "rawPath": parts.path, "rawQueryString": parts.query,
        "headers": dict(headers),
        "requestContext": _request_context(method, parts.path, headers, api_id, source_ip),
        "isBase64Encoded": False,
    }
    query = parse_qs(parts.query, keep_blank_values=True)
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in query.items()}
    if body:
        event["body"], event["isBase64Encoded"] = _body(body, headers.get("content-type", ""))
    return event


def _body(body: bytes, content_type: str) -> tuple[str, bool]:
    """Text stays text; anything else (or text that is not UTF-8) is base64, as API Gateway sends it."""
    if content_type.startswith(_TEXT_TYPES) or not content_type:
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _request_context(method: str, path: str, headers: Mapping[str, str], api_id: str,
                     source_ip: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"accountId": "123456789012", "apiId": api_id, "domainName": headers.get("host", "127.0.0.1"),
            "domainPrefix": api_id, "requestId": uuid.uuid4().hex, "routeKey": f"{method} {path}",
            "stage": "$default", "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": source_ip,
                     "userAgent": headers.get("user-agent", "")}}


def proxy_response(result: Any) -> tuple[int, dict[str, str], bytes]:
    """A v2 Lambda result -> status, headers, body. A result without statusCode is the JSON body of a 200."""
    if not isinstance(result, Mapping) or "statusCode" not in result:
        return 200, {"content-type": "application/json"}, json.dumps(result).encode()
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(result["statusCode"]), headers, raw


class HttpApi(LocalServer):
    def __init__(
        self,
        routes: Mapping[tuple[str, str], LocalFunction],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_s: float = 30.0,
    ) -> None:
        self.routes, self.timeout_s = dict(routes), timeout_s
        self.api_id = uuid.uuid4().hex[:10]
        self.requests = 0
        super().__init__(_handler(self), "http-api", host, port)

    def dispatch(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes, source_ip: str
    ) -> tuple[int, dict[str, str], bytes]:
        self.requests += 1
        function = self.routes.get((method, urlsplit(raw_path).path))
        if function is None:
            return _message(404, "Not Found")
        if len(body) > MAX_BODY_BYTES:
            return _message(413, "Request Entity Too Large")
        event = proxy_event(method, raw_path, headers, body, api_id=self.api_id, source_ip=source_ip)
        started = time.monotonic()
        try:
            result = function.invoke(event)
        except FunctionError:
            timed_out = time.monotonic() - started >= self.timeout_s
            return (
                _message(503, "Service Unavailable") if timed_out else _message(500, "Internal Server Error")
            )
        return proxy_response(result)


def _message(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps({"message": message}).encode()


def _handler(api: HttpApi) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            status, out_headers, out = api.dispatch(
                self.command, self.path, headers, body, self.client_address[0]
            )
            self.send_response(status)
            for name, value in out_headers.items():
                if name not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


    return Handler
