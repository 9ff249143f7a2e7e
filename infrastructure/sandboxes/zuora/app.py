"""ZuoraSandbox: a stateful stand-in for one Zuora tenant, held to VENDORS.md §0 #7-#10 and §2.

Every API answer carries RateLimit-Limit/-Remaining/-Reset (the window closest to exhaustion: here
the one configured) and a 429 past the limit; OAuth requests count in their own AUTH window.
POST and PATCH honour `Idempotency-Key` (< 255 characters): the first answer (status, headers,
body, failures included) is replayed for 24 h; 409 while the first is still running; 422 when the
key comes back on another URL or method. Other methods ignore the key. Admin endpoints beyond the
base ones:
    POST /__sandbox/payments     {"accountNumber", "outcome": "failed"|"processed", "amount"?}
    POST /__sandbox/order-delay  {"seconds": 2.5}   orders keep running that long before they apply
    GET  /__sandbox/callouts     every callout delivery attempt
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from dataclasses import replace

from domain.iso import CURRENCIES
from infrastructure.sandboxes.base import (
    IdempotencyCache,
    RateWindow,
    Request,
    Response,
    Sandbox,
    TokenIssuer,
)
from infrastructure.sandboxes.zuora.callouts import Callouts
from infrastructure.sandboxes.zuora.errors import (
    CrudFailure,
    ZuoraFailure,
    answer,
    crud_failure,
    failure,
    failure_body,
)
from infrastructure.sandboxes.zuora.idempotency import idempotent
from infrastructure.sandboxes.zuora.routes import register
from infrastructure.sandboxes.zuora.state import Tenant

DEFAULT_TERMS = ("Due Upon Receipt", "Net 15", "Net 30", "Net 45", "Net 60", "Net 90")
Handler = Callable[[Request], Response]


class ZuoraSandbox(Sandbox):
    name = "zuora"

    def __init__(self, client_id: str, client_secret: str, *, token_lifetime_s: float = 3599,
                 rate_limit: tuple[int, float] = (50000, 60), auth_rate_limit: tuple[int, float] = (2000, 60),
                 callout_url: str | None = None, callout_user: str | None = None,
                 callout_password: str | None = None, order_delay_s: float = 0.0,
                 currencies: Iterable[str] | None = None, payment_terms: Iterable[str] | None = DEFAULT_TERMS,
                 units: Iterable[str] = ("Each",), subscription_fields: Iterable[str] = ("CrmOrderId__c",),
                 callout_retry_delay_s: float = 0.2, port: int = 0, host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        self.client_id, self.client_secret = client_id, client_secret
        self.tokens = TokenIssuer(self.clock, token_lifetime_s)
        self.rate_limit, self.auth_rate_limit = rate_limit, auth_rate_limit
        self.api_window = RateWindow(self.clock, *rate_limit)
        self.auth_window = RateWindow(self.clock, *auth_rate_limit)
        self.idempotency = IdempotencyCache(self.clock)
        self.tenant = Tenant(self.clock)
        self.order_delay_s = order_delay_s
        self.currencies = frozenset(currencies or CURRENCIES)
        self.payment_terms = frozenset(payment_terms) if payment_terms is not None else None
        self.units, self.subscription_fields = frozenset(units), frozenset(subscription_fields)
        self.callouts = Callouts(self, callout_url, callout_user, callout_password,
                                 retry_delay_s=callout_retry_delay_s)
        register(self)

    # -- the pipeline: rate window, faults, route (auth, idempotency, vendor logic) --------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/__sandbox/"):
            return super().handle(request)
        window = self.auth_window if request.path == "/oauth/token" else self.api_window
        allowed, remaining, reset = window.take()
        response = super().handle(request) if allowed else self._exhausted()
        headers = {**response.headers, "RateLimit-Limit": str(window.limit),
                   "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(max(1, round(reset)))}
        track = request.headers.get("zuora-track-id")
        if track is not None:
            headers["Zuora-Track-Id"] = track[:64]  # Zuora echoes the caller's trace id
        return replace(response, headers=headers)  # a copy: replayed answers are shared

    def _exhausted(self) -> Response:
        self.stats["429"] += 1
        return answer(429, failure_body(int("50000070"), "Too many requests: the rate limit is exceeded"))

    def api(self, method: str, pattern: str, handler: Handler, *, crud: bool = False) -> None:
        """A vendor route behind bearer auth, idempotency (POST/PATCH) and failure shapes."""

        def guarded(request: Request) -> Response:
            if not self.tokens.valid(_bearer(request)):
                return answer(401, failure_body(90000011, "Authentication error"))
            key = request.headers.get("idempotency-key")
            if key is not None and request.method in ("POST", "PATCH"):
                return idempotent(self.idempotency, request, key, lambda: self._run(handler, request, crud))
            return self._run(handler, request, crud)

        self.route(method, pattern, guarded)

    @staticmethod
    def _run(handler: Handler, request: Request, crud: bool) -> Response:
        try:
            return handler(request)
        except ZuoraFailure as exc:
            return failure(exc)
        except CrudFailure as exc:
            return crud_failure(exc)
        except ValueError:  # a body that is not JSON
            failed = CrudFailure("INVALID_VALUE", "malformed JSON") if crud else None
            return crud_failure(failed) if failed else failure(ZuoraFailure("query", "20", "Malformed JSON body"))

    # -- vendor shapes of the base hooks -----------------------------------------------------
    def not_found(self, request: Request, *, method_not_allowed: bool) -> Response:
        status = 405 if method_not_allowed else 404
        return answer(status, failure_body(50000040, f"No such resource: {request.method} {request.path}"))

    def server_error(self, request: Request) -> Response:
        return answer(500, failure_body(50000060, "Internal server error (injected)"))

    def throttled(self, request: Request) -> Response:
        return self._exhausted()

    def expire_tokens(self) -> None:
        self.tokens.expire_all()

    def reset(self) -> None:
        super().reset()
        self.tenant = Tenant(self.clock)
        self.idempotency = IdempotencyCache(self.clock)
        self.api_window = RateWindow(self.clock, *self.rate_limit)
        self.auth_window = RateWindow(self.clock, *self.auth_rate_limit)
        self.callouts.log.clear()

    def start(self) -> str:
        url = super().start()
        # The base handler sends headers and body as two segments; with Nagle on, every answer then
        # waits ~40 ms for a delayed ACK. No client is connected yet: the URL is not out.
        if self._server is not None:
            self._server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
            self._server.handle_error = self._quiet_disconnects(self._server.handle_error)  # type: ignore[method-assign]
        return url

    @staticmethod
    def _quiet_disconnects(default: Callable[..., None]) -> Callable[..., None]:
        """A client that timed out is normal here (an order still running): no traceback for it."""

        def handle_error(request: object, client_address: object) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default(request, client_address)

        return handle_error

    def stop(self) -> None:
        self.callouts.stop()
        super().stop()

    def wait_for_callouts(self, timeout_s: float = 5.0) -> bool:
        """Block until every queued callout was attempted (tests); False on timeout."""
        return self.callouts.drain(timeout_s)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None
