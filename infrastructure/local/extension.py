"""The AWS Parameters and Secrets Lambda Extension's HTTP API, served on 127.0.0.1 for local functions.

    GET /systemsmanager/parameters/get?name=N[&withDecryption=true][&version=V|&label=L]
    GET /secretsmanager/get?secretId=S[&versionId=V|&versionStage=L]
with the header `X-Aws-Parameters-Secrets-Token: <the function's AWS_SESSION_TOKEN>`; the answer is
the service's own JSON (GetParameter / GetSecretValue). Values are cached per request for
SSM_PARAMETER_STORE_TTL / SECRETS_MANAGER_TTL seconds (default 300, at most 300: the extension caps
them), so a token rotated in SSM reaches a reader only after the TTL, as in Lambda.
A missing or wrong token -> 401; an error from the service -> its HTTP status and message.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import ClientError

from infrastructure.local.httpd import QuietHandler

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
MAX_TTL_S = 300.0


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(type(value).__name__)


class ExtensionServer:
    def __init__(self, ssm: Any, secretsmanager: Any, session_token: str, *, ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ssm, self.secretsmanager, self.session_token = ssm, secretsmanager, session_token
        self.ttl_s = min(ttl_s, MAX_TTL_S)
        self.clock = clock
        self.calls = 0  # requests that reached SSM / Secrets Manager (cache misses)
        self._cache: dict[tuple[str, ...], tuple[float, int, bytes]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="extension", daemon=True)

    def start(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer(self, path: str, query: dict[str, str], token: str | None) -> tuple[int, bytes]:
        if token != self.session_token:
            return 401, b"not authorized"
        if path == "/systemsmanager/parameters/get" and query.get("name"):
            key = ("ssm", query["name"], query.get("withDecryption", "false"), query.get("version", ""),
                   query.get("label", ""))
            return self._cached(key, lambda: self._get_parameter(query))
        if path == "/secretsmanager/get" and query.get("secretId"):
            key = ("sm", query["secretId"], query.get("versionId", ""), query.get("versionStage", ""))
            return self._cached(key, lambda: self._get_secret(query))
        return (
            400,
            b"unknown request: use /systemsmanager/parameters/get?name= or /secretsmanager/get?secretId=",
        )

    def _cached(self, key: tuple[str, ...], fetch: Callable[[], dict[str, Any]]) -> tuple[int, bytes]:
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and self.clock() < hit[0]:
            return hit[1], hit[2]
        self.calls += 1
        try:
            body = json.dumps(fetch(), default=_json_default).encode()
        except ClientError as exc:  # the service's refusal passes through, uncached
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400))
            return status, f"{error.get('Code', 'Error')}: {error.get('Message', '')}".encode()
        with self._lock:
            self._cache[key] = (self.clock() + self.ttl_s, 200, body)
        return 200, body

    def _get_parameter(self, query: dict[str, str]) -> dict[str, Any]:
        name = query["name"]
        selector = (
            f":{query['version']}"
            if query.get("version")
            else (f":{query['label']}" if query.get("label") else "")
        )
        answer = self.ssm.get_parameter(
            Name=name + selector, WithDecryption=query.get("withDecryption", "").lower() == "true"
        )
        return {"Parameter": answer["Parameter"], "ResultMetadata": {}}

    def _get_secret(self, query: dict[str, str]) -> dict[str, Any]:
        kwargs = {"SecretId": query["secretId"]}
        if query.get("versionId"):
            kwargs["VersionId"] = query["versionId"]
        if query.get("versionStage"):
            kwargs["VersionStage"] = query["versionStage"]
        answer = dict(self.secretsmanager.get_secret_value(**kwargs))
        answer.pop("ResponseMetadata", None)
        return {**answer, "ResultMetadata": {}}


def _handler(extension: ExtensionServer) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            status, body = extension.answer(parts.path, query, self.headers.get(TOKEN_HEADER))
            self.send_response(status)
            self.send_header("Content-Type", "application/json" if status == 200 else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)


    return Handler
