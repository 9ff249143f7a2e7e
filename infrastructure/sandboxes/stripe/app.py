"""StripeSandbox: a stateful, faithful stand-in for Stripe's v1 API (VENDORS §0 #11-#12, §3).

The order in which a request meets Stripe's layers (docs.stripe.com/error-low-level: "rate limiters run
before the API's idempotency layer"; results are saved "only after the execution of an endpoint begins"):

    auth (401) -> rate limiter (429) -> injected 5xx/429 faults -> form body check (JSON refused)
      -> idempotency layer (POST with Idempotency-Key: replay | mismatch 400 | in progress 409)
        -> endpoint (parameter validation: 400, not saved | execution: saved, even a 500)
          -> injected connection drop (the answer is lost after the work was done)
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from infrastructure.sandboxes.base import DropConnection, IdempotencyCache, RateWindow, Request, Response, Sandbox
from infrastructure.sandboxes.stripe import admin, billing, catalog, customers, layers, readonly, subscriptions
from infrastructure.sandboxes.stripe.errors import InvalidParams, StripeError
from infrastructure.sandboxes.stripe.events import API_VERSION, Events
from infrastructure.sandboxes.stripe.forms import decode
from infrastructure.sandboxes.stripe.store import Obj, Store


class StripeSandbox(Sandbox):
    name = "stripe"

    def __init__(self, api_keys: Sequence[str], *, webhook_url: str | None = None,
                 webhook_secrets: Sequence[str] = (), rate_limit_per_s: int = 25, search_lag_s: float = 0.0,
                 webhook_retry_delays_s: Sequence[float] = (0.2, 0.5, 1, 2, 4, 8), port: int = 0,
                 host: str = "127.0.0.1") -> None:
        super().__init__(port=port, host=host)
        if not api_keys:
            raise ValueError("a Stripe sandbox needs at least one API key")
        self.api_keys, self.revoked = set(api_keys), False
        self.rate = RateWindow(self.clock, rate_limit_per_s, 1.0)
        self.idempotency = IdempotencyCache(self.clock)
        self.store = Store(self.clock, search_lag_s)
        self.events = Events(self.store, webhook_url=webhook_url, secrets=webhook_secrets,
                             chance=self._event_fault, retry_delays_s=webhook_retry_delays_s)
        self.fail_next: list[str] = []  # scripted failures of the next keyed POSTs (admin.py)
        for resource in (customers, catalog, subscriptions, readonly, admin):
            resource.register(self)

    # -- helpers for the resource modules ----------------------------------------------------
    def ok(self, obj: Obj) -> Response:
        return Response(200, json.dumps(obj, indent=2).encode(), {"Content-Type": "application/json"})

    def form(self, request: Request) -> dict[str, Any]:
        if request.method == "POST":
            return decode(request.body.decode("utf-8", errors="replace"))
        return decode(urlencode(request.query, doseq=True))

    def emit(self, request: Request | None, type_: str, obj: Obj, previous: dict[str, Any] | None = None) -> Obj:
        origin = (None, None) if request is None else (request.headers.get("x-sandbox-request-id"),
                                                       request.headers.get("idempotency-key"))
        return self.events.emit(type_, obj, previous, origin)

    # -- the pipeline ----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith("/__sandbox/"):
            return self.dispatch(request)
        request_id = "req_" + secrets.token_hex(7)
        request.headers["x-sandbox-request-id"] = request_id
        try:
            response = self._guarded(request, request_id)
        except StripeError as exc:
            response = exc.response(request_id)
        response.headers.setdefault("Request-Id", request_id)
        response.headers["Stripe-Version"] = request.headers.get("stripe-version", API_VERSION)
        if self.chance(self.faults.drop_rate):
            self.stats["fault:drop"] += 1
            raise DropConnection  # after the work: the client cannot know whether it happened
        return response

    def _guarded(self, request: Request, request_id: str) -> Response:
        layers.authenticate(request, self.api_keys, revoked=self.revoked)
        allowed, _, _ = self.rate.take()
        if not allowed:
            raise layers.unsaved(StripeError(429, "Request rate limit exceeded. You can learn more about rate limits "
                                            "here https://stripe.com/docs/rate-limits.", code="rate_limit"))
        self._injected_faults()
        if request.method != "POST":
            return self.execute(request)
        if "json" in request.headers.get("content-type", ""):
            raise InvalidParams("Invalid request (check that your POST content type is "
                                "application/x-www-form-urlencoded). If you have any questions, we can help at "
                                "https://support.stripe.com/.")
        key = request.headers.get("idempotency-key")
        return self.execute(request) if key is None else layers.idempotent(self, request, request_id, key)

    def execute(self, request: Request) -> Response:
        if self.faults.latency_ms:  # outside the lock: concurrent requests overlap, as at Stripe
            time.sleep(self.faults.latency_ms / 1000)
        with self.lock:
            billing.tick(self)
            return self.dispatch(request)

    def _injected_faults(self) -> None:
        if self.chance(self.faults.error_rate):  # a failure in front of the API: nothing saved, nothing done
            self.stats["fault:5xx"] += 1
            raise layers.unsaved(StripeError(500, "An unknown error occurred", type_="api_error"))
        if self.chance(self.faults.throttle_rate):
            self.stats["fault:429"] += 1
            raise layers.unsaved(StripeError(429, "Request rate limit exceeded. You can learn more about rate limits "
                                            "here https://stripe.com/docs/rate-limits.", code="rate_limit"))

    def _event_fault(self, kind: str) -> bool:
        rate = self.faults.drop_event_rate if kind == "drop" else self.faults.duplicate_event_rate
        hit = self.chance(rate)
        if hit:
            self.stats[f"fault:event_{kind}"] += 1
        return hit

    # -- the base's hooks in Stripe's shapes ---------------------------------------------------
    def not_found(self, request: Request, *, method_not_allowed: bool) -> Response:
        if request.path.startswith("/__sandbox/"):
            return super().not_found(request, method_not_allowed=method_not_allowed)
        message = (f"Unrecognized request URL ({request.method}: {request.path}). Please see "
                   "https://stripe.com/docs or we can help at https://support.stripe.com/.")
        raise layers.unsaved(StripeError(404, message))

    def server_error(self, request: Request) -> Response:
        return StripeError(500, "An unknown error occurred", type_="api_error").response("req_injected")

    def throttled(self, request: Request) -> Response:
        return StripeError(429, "Request rate limit exceeded.", code="rate_limit").response("req_injected")

    def expire_tokens(self) -> None:
        """Stripe keys do not expire: the nearest event is a revoked key. Every key answers 401 until reset."""
        self.revoked = True

    def reset(self) -> None:
        super().reset()
        self.revoked = False
        self.clock.offset = 0.0  # a test that moved the clock must not leak into the next one
        self.rate = RateWindow(self.clock, self.rate.limit, self.rate.window_s)
        self.store = Store(self.clock, self.store.search_lag_s)
        self.events.store = self.store
        self.events.reset()
        self.idempotency = IdempotencyCache(self.clock)
        self.fail_next.clear()

    def start(self) -> str:
        url = super().start()
        assert self._server is not None
        base_handler = self._server.RequestHandlerClass

        class _NoDelay(base_handler):  # type: ignore[valid-type,misc]
            # The base handler writes headers and body in two sends; with Nagle's algorithm and delayed
            # ACKs every keep-alive request then waits ~40 ms. Stripe answers in one go.
            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        self._server.RequestHandlerClass = _NoDelay
        return url

    def stop(self) -> None:
        self.events.close()
        super().stop()
