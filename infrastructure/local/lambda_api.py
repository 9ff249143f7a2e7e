"""Lambda's Invoke API for the local functions (moto has no runtime to invoke one with).

    POST /2015-03-31/functions/{FunctionName}/invocations   X-Amz-Invocation-Type: RequestResponse | Event
A function calling another (the token readers' on-demand refresh invokes the access manager) reaches
this through AWS_ENDPOINT_URL_LAMBDA, which boto3 prefers to AWS_ENDPOINT_URL for the lambda service.
RequestResponse answers 200 with the result, or 200 with `X-Amz-Function-Error: Unhandled` and
{errorType, errorMessage}; Event answers 202 and runs it in the background; an unknown function 404
ResourceNotFoundException.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import unquote, urlsplit

from infrastructure.local.functions import FunctionError, LocalFunction
from infrastructure.local.httpd import LocalServer, QuietHandler

_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
Reply = tuple[int, dict[str, str], bytes]


class LambdaApi(LocalServer):
    def __init__(self, functions: Callable[[], Mapping[str, LocalFunction]], host: str = "127.0.0.1") -> None:
        self._functions = functions
        super().__init__(_handler(self), "lambda-api", host)

    def invoke(self, path: str, invocation_type: str, body: bytes) -> Reply:
        match = _PATH.match(urlsplit(path).path)
        name = unquote(match.group("name")).rsplit(":", 1)[-1] if match else ""
        function = next((f for f in self._functions().values() if f.name == name), None)
        if function is None:
            return _json(404, {"Type": "User", "message": f"Function not found: {name}"},
                         {"x-amzn-ErrorType": "ResourceNotFoundException"})
        event = json.loads(body) if body else {}
        if invocation_type == "Event":
            function.invoke_async(event)
            return 202, {}, b""
        if invocation_type == "DryRun":
            return 204, {}, b""
        try:
            return _json(200, function.invoke(event), {"X-Amz-Executed-Version": "$LATEST"})
        except FunctionError as exc:
            return _json(200, {"errorType": exc.error_type, "errorMessage": exc.message},
                         {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"})


def _json(status: int, document: Any, headers: dict[str, str]) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(document).encode()


def _handler(api: LambdaApi) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            kind = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
            status, headers, out = api.invoke(self.path, kind, body)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)


    return Handler
