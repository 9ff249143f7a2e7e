"""The Salesforce sandbox: a stateful org over HTTP, faithful to VENDORS §0 #1-#6 and §1.

Every `/services/data/vXX.X/...` call is authenticated (401 INVALID_SESSION_ID once the token is
past its lifetime), counted against a rolling 24 h quota (403 REQUEST_LIMIT_EXCEEDED past it, never
429) and answered with `Sforce-Limit-Info: api-usage=used/limit`. Writes commit in transactions
whose changes leave as CDC events in Event Relay's EventBridge envelope.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from infrastructure.sandboxes.base import DropConnection, Request, Response, Sandbox
from infrastructure.sandboxes.salesforce import composite, oauth, querying, responses, rest, tooling
from infrastructure.sandboxes.salesforce.admin import register_admin
from infrastructure.sandboxes.salesforce.events import Emitter, Envelope
from infrastructure.sandboxes.salesforce.ids import IdMinter, checksum
from infrastructure.sandboxes.salesforce.relay import RelayMixin
from infrastructure.sandboxes.salesforce.responses import limit_exceeded, session_invalid, sf_json
from infrastructure.sandboxes.salesforce.schema import format_datetime
from infrastructure.sandboxes.salesforce.store import Org, Transaction

log = logging.getLogger(__name__)
DEFAULT_ORG_ID = "00D5g000004Cncd" + checksum("00D5g000004Cncd")
DEFAULT_CHANNEL_ID = "0YL5g000000Cncd" + checksum("0YL5g000000Cncd")
DAY_S = 24 * 3600


class SalesforceSandbox(RelayMixin, Sandbox):
    name = "salesforce"

    def __init__(self, client_id: str, client_secret: str, *, token_lifetime_s: float = 7200,
                 api_version: str = "60.0", daily_limit: int = 100000, jwt_public_key_pem: str | None = None,
                 events_to: Callable[[Envelope], None] | None = None, page_size: int = 2000,
                 jwt_users: set[str] | None = None, org_id: str = DEFAULT_ORG_ID, port: int = 0,
                 host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime_s, self.api_version, self.daily_limit = token_lifetime_s, api_version, daily_limit
        self.jwt_public_key_pem, self.jwt_users, self.page_size = jwt_public_key_pem, jwt_users or set(), page_size
        self.org_id = org_id
        self.events_to = events_to
        self.minter = IdMinter()
        self.user_id = self.minter.mint("005")
        self.emitter = Emitter(events_to, org_id=org_id, chance=self._event_fault)
        self.emitter.channel_id = DEFAULT_CHANNEL_ID
        self.relay_created_hook: Callable[[str], None] | None = None
        self._local = threading.local()
        self._fresh_state()
        self.route("POST", "/services/oauth2/token", lambda request: oauth.token_endpoint(self, request))
        self.route("GET", "/services/data/?", lambda request: sf_json(200, self._versions()))
        for module in (rest, querying, composite, tooling):
            module.register(self)
        register_admin(self)

    def _fresh_state(self) -> None:
        self.org = Org(self.clock.now, self.user_id, self.minter)
        self.tooling: dict[str, dict[str, dict[str, Any]]] = {}
        self.cursors: dict[str, tuple[list[dict[str, Any]], int]] = {}
        self.tokens: dict[str, float] = {}
        self.calls: deque[float] = deque()
        self.commit_number = 74487681550
        self.selected: set[str] | None = None  # entities of the running relay; None: every CDC entity

    # -- vendor answers for injected faults and unknown paths ----------------------------------
    def server_error(self, request: Request) -> Response:
        return responses.server_error(request.path.startswith("/services/oauth2"))

    def throttled(self, request: Request) -> Response:
        # Salesforce never answers 429 for its API quota (VENDORS §0 #5).
        return responses.throttled(request.path.startswith("/services/oauth2"))

    def not_found(self, request: Request, *, method_not_allowed: bool) -> Response:
        return responses.not_found(request.method, method_not_allowed)

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def reset(self) -> None:
        super().reset()
        self.clock.offset = 0.0  # a fresh org starts at wall-clock time again
        self._fresh_state()
        self.emitter.recent.clear()
        self.emitter.channel_id = DEFAULT_CHANNEL_ID

    def start(self) -> str:
        url = super().start()
        # Headers and body leave in two writes: without TCP_NODELAY each keep-alive answer waits ~40 ms
        # for a delayed ACK (Nagle). Salesforce answers in one go; so should its sandbox.
        if self._server is not None:
            self._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        return url

    # -- authentication and the API quota -------------------------------------------------------
    def remember_token(self, token: str) -> None:
        with self.lock:
            self.tokens[token] = self.clock.now() + self.token_lifetime_s

    def handle(self, request: Request) -> Response:
        if not request.path.startswith("/services/data/v"):
            return super().handle(request)
        version = request.path.split("/")[3][1:]
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None or expiry <= self.clock.now():
            return session_invalid()
        used, allowed = self._count_call()
        if not responses.known_version(version, self.api_version):
            response = responses.not_found(request.method, False)
        else:
            response = self._answer(request) if allowed else limit_exceeded()
        response.headers["Sforce-Limit-Info"] = f"api-usage={used}/{self.daily_limit}"
        return response

    def _answer(self, request: Request) -> Response:
        try:
            return super().handle(request)
        except json.JSONDecodeError as exc:
            return sf_json(400, [{"message": f"Unexpected character at {exc.pos}", "errorCode": "JSON_PARSER_ERROR"}])
        except DropConnection:
            raise
        except Exception:  # a request shape the sandbox did not foresee: Salesforce's own 500, logged
            log.exception("salesforce sandbox: unhandled %s %s", request.method, request.path)
            return responses.server_error(False)

    def _count_call(self) -> tuple[int, bool]:
        with self.lock:
            now = self.clock.now()
            while self.calls and self.calls[0] <= now - DAY_S:
                self.calls.popleft()
            if len(self.calls) >= self.daily_limit:
                return len(self.calls), False
            self.calls.append(now)
            return len(self.calls), True

    # -- transactions and change events -----------------------------------------------------------
    @contextmanager
    def transaction(self, request: Request, *, atomic: bool = False) -> Iterator[Transaction]:
        """One commit; a call inside another (a composite's subrequest) joins the outer one."""
        current = getattr(self._local, "tx", None)
        if current is not None:
            yield current
            return
        with self.lock:
            tx = Transaction(responses.client_of(request.headers))
            state = self.org.snapshot() if atomic else None
            self._local.tx = tx
            try:
                yield tx
            except BaseException:
                if state is not None:
                    self.org.restore(state)
                raise
            finally:
                self._local.tx = None
            self._commit(tx)

    # -- helpers -------------------------------------------------------------------------------
    def now_iso(self) -> str:
        return format_datetime(datetime.fromtimestamp(self.clock.now(), tz=UTC))

    def _versions(self) -> list[dict[str, str]]:
        top = int(float(self.api_version))
        return [{"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
                for n in range(max(20, top - 10), top + 1)]
