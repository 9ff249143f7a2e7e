"""The common machinery of the vendor sandboxes: routing, faults, tokens, idempotency, rate windows.

A sandbox is a stdlib ThreadingHTTPServer (no framework: we need to drop a connection mid-request,
which frameworks hide). Each vendor module subclasses `Sandbox`, registers routes with `route`, and
answers with its vendor's own shapes. Tests steer a running sandbox over HTTP through the admin
endpoints under `/__sandbox/` (never part of any vendor API):

    POST /__sandbox/faults        {"latency_ms":50,"error_rate":0.05,"throttle_rate":0.01,...}
    POST /__sandbox/expire-tokens  every issued token becomes invalid now
    POST /__sandbox/clock          {"advance_seconds": 86400}   moves the sandbox clock
    POST /__sandbox/reset          forget all state
    GET  /__sandbox/stats          request counts per route, faults injected

In-process tests may also set `Sandbox.after_write(request, response)`: called after a vendor route
answered a request that is not a GET, before the answer is sent (tests/chaos/local_stack kills the
calling worker there: the vendor did the write, the caller never learns it).
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    """Per-run fault injection. Rates are probabilities per request (or per emitted event)."""

    latency_ms: int = 0
    error_rate: float = 0.0  # answer the vendor's 5xx
    throttle_rate: float = 0.0  # answer the vendor's 429 (or 403 REQUEST_LIMIT_EXCEEDED)
    drop_rate: float = 0.0  # close the connection without an answer
    drop_event_rate: float = 0.0  # an emitted event/webhook is never sent
    duplicate_event_rate: float = 0.0  # an emitted event/webhook is sent twice
    seed: int | None = None


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    peer: tuple[str, int] | None = None  # the caller's (host, port), as the socket says

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class DropConnection(Exception):
    """Raised by a handler or the fault layer: close the socket without answering."""


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


Handler = Callable[[Request], Response]


class SandboxClock:
    """Wall clock plus an offset tests can advance (24 h idempotency expiry, token lifetimes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


class TokenIssuer:
    """Opaque bearer tokens with a lifetime; `expire_all` forces the vendor's expired-token answer."""

    def __init__(self, clock: SandboxClock, lifetime_s: float) -> None:
        self.clock, self.lifetime_s = clock, lifetime_s
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.clock.now() + self.lifetime_s
        return token, self.lifetime_s

    def valid(self, token: str | None) -> bool:
        with self._lock:
            expiry = self._tokens.get(token or "")
        return expiry is not None and expiry > self.clock.now()

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()


@dataclass
class _Stored:
    fingerprint: str
    created: float
    response: Response | None = None  # None while the first request is still running


class IdempotencyCache:
    """Key -> first response, kept 24 h, replayed whatever it was (VENDORS §0 #9, #11).

    `begin` answers one of: ("new", None) run the request, then `finish`;
    ("replay", response); ("in_progress", None); ("mismatch", None).
    """

    TTL_S = 24 * 3600

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._entries: dict[str, _Stored] = {}
        self._lock = threading.Lock()

    def begin(self, key: str, fingerprint: str) -> tuple[str, Response | None]:
        with self._lock:
            stored = self._entries.get(key)
            if stored is not None and self.clock.now() - stored.created > self.TTL_S:
                stored = None  # pruned after 24 h: the key is new again
            if stored is None:
                self._entries[key] = _Stored(fingerprint, self.clock.now())
                return "new", None
            if stored.fingerprint != fingerprint:
                return "mismatch", None
            if stored.response is None:
                return "in_progress", None
            return "replay", stored.response

    def finish(self, key: str, response: Response | None) -> None:
        """Store the answer; None forgets the key (the vendor saved nothing, e.g. a validation failure)."""
        with self._lock:
            if response is None:
                self._entries.pop(key, None)
            elif key in self._entries:
                self._entries[key].response = response


class RateWindow:
    """A fixed-window request counter: `limit` requests per `window_s` seconds."""

    def __init__(self, clock: SandboxClock, limit: int, window_s: float) -> None:
        self.clock, self.limit, self.window_s = clock, limit, window_s
        self._start, self._count = clock.now(), 0
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, int, float]:
        """(allowed, remaining, seconds until the window resets)."""
        with self._lock:
            now = self.clock.now()
            if now - self._start >= self.window_s:
                self._start, self._count = now, 0
            reset = max(0.0, self.window_s - (now - self._start))
            if self._count >= self.limit:
                return False, 0, reset
            self._count += 1
            return True, self.limit - self._count, reset


class Sandbox:
    """Base of a vendor sandbox. Subclasses register routes and the vendor's fault answers."""

    name = "sandbox"

    def __init__(self, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.clock = SandboxClock()
        self.faults = Faults()
        self.stats: Counter[str] = Counter()
        self._random = random.Random()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self.lock = threading.RLock()  # guards the vendor state of subclasses
        self.after_write: Callable[[Request, Response], None] | None = None  # see the module docstring
        self._register_admin()

    # -- routing ---------------------------------------------------------------------------
    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a regex over the path with named groups, anchored at both ends."""
        self._routes.append((method, re.compile(f"^{pattern}$"), handler))

    def dispatch(self, request: Request) -> Response:
        path_matched = False
        for method, pattern, handler in self._routes:
            match = pattern.match(request.path)
            if match is None:
                continue
            path_matched = True
            if method == request.method:
                request.params = match.groupdict()
                self.stats[f"{method} {pattern.pattern}"] += 1
                response = handler(request)
                if self.after_write is not None and method != "GET" and not request.path.startswith("/__sandbox/"):
                    self.after_write(request, response)
                return response
        return self.not_found(request, method_not_allowed=path_matched)

    # -- hooks for the vendor's own shapes -----------------------------------------------------
    def not_found(self, request: Request, *, method_not_allowed: bool) -> Response:
        status = 405 if method_not_allowed else 404
        return json_response(status, {"error": "not found", "path": request.path})

    def server_error(self, request: Request) -> Response:
        return json_response(500, {"error": "internal error (injected)"})

    def throttled(self, request: Request) -> Response:
        return json_response(429, {"error": "rate limited (injected)"}, {"Retry-After": "1"})

    # -- faults ----------------------------------------------------------------------------
    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self._random.seed(faults.seed)

    def chance(self, rate: float) -> bool:
        return rate > 0 and self._random.random() < rate

    def handle(self, request: Request) -> Response:
        """Faults first (never on admin routes), then the vendor route."""
        if not request.path.startswith("/__sandbox/"):
            if self.faults.latency_ms:
                time.sleep(self.faults.latency_ms / 1000)
            if self.chance(self.faults.drop_rate):
                self.stats["fault:drop"] += 1
                raise DropConnection
            if self.chance(self.faults.error_rate):
                self.stats["fault:5xx"] += 1
                return self.server_error(request)
            if self.chance(self.faults.throttle_rate):
                self.stats["fault:429"] += 1
                return self.throttled(request)
        return self.dispatch(request)

    def _register_admin(self) -> None:
        def faults(request: Request) -> Response:
            self.set_faults(Faults(**(request.json() or {})))
            return json_response(200, asdict(self.faults))

        def clock(request: Request) -> Response:
            self.clock.offset += float((request.json() or {}).get("advance_seconds", 0))
            return json_response(200, {"now": self.clock.now()})

        def stats(request: Request) -> Response:
            return json_response(200, dict(self.stats))

        def expire(request: Request) -> Response:
            self.expire_tokens()
            return json_response(200, {"expired": True})

        def reset(request: Request) -> Response:
            with self.lock:
                self.reset()
            return json_response(200, {"reset": True})

        self.route("POST", "/__sandbox/faults", faults)
        self.route("POST", "/__sandbox/clock", clock)
        self.route("GET", "/__sandbox/stats", stats)
        self.route("POST", "/__sandbox/expire-tokens", expire)
        self.route("POST", "/__sandbox/reset", reset)

    def expire_tokens(self) -> None:
        """Subclasses with tokens override this."""

    def reset(self) -> None:
        """Subclasses forget their vendor state here (and call this)."""
        self.stats.clear()
        self.clock.offset = 0.0

    # -- serving ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Serve in a daemon thread; returns the base URL (the port is chosen when 0)."""
        self._server = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name=f"{self.name}-sandbox", daemon=True).start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        self.start()
        threading.Event().wait()


def _make_handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the vendors serve
        # Headers and body go out in two sends: without TCP_NODELAY each keep-alive answer waits
        # about 40 ms for the client's delayed ACK (measured by the vendor engineers).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length),
                              peer=(str(self.client_address[0]), int(self.client_address[1])))
            try:
                response = sandbox.handle(request)
            except DropConnection:
                self.close_connection = True
                self.connection.close()
                return
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return _Handler
