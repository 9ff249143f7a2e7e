"""The Stripe HTTP client: form-encoded bodies, Bearer key, Stripe's error shapes and retry signals.

Classification of an answer (VENDORS §0 #11, docs.stripe.com/error-low-level):
    401                              -> CredentialsRevoked (a key does not expire; a revoked one alarms)
    Stripe-Should-Retry: true        -> RetryableError, whatever the status
    Stripe-Should-Retry: false       -> PermanentError, whatever the status (a 500 saved under the
                                        idempotency key replays forever: its outcome is indeterminate,
                                        reconcile instead of retrying)
    404                              -> NotFound
    409 idempotency_key_in_use       -> RetryableError: our own earlier attempt with this key and these
                                        params is still running (typically after a timeout); asking
                                        again with the same key returns its result and cannot run twice
    other 409                        -> PermanentError: never retried blindly
    400 idempotency_error            -> PermanentError: same key, other params (a key derivation bug)
    400 "price specified is inactive" -> PriceNotSold (an archived price on items[n][price])
    429, 5xx                         -> RetryableError with Retry-After as the hint
    other 4xx                        -> PermanentError with field = error.param
A timeout after sending is OutcomeUnknown (VendorHttp); the retry reuses the Idempotency-Key.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.billing.stripe.form import encode
from adapters.outbound import RetryPolicy, TokenBucket, VendorHttp, classify_status, retry_after_seconds
from application.errors import (
    CredentialsRevoked,
    IntegrationError,
    NotFound,
    PermanentError,
    PriceNotSold,
    RetryableError,
)
from application.ports import TokenProvider

SYSTEM = "stripe"
API_VERSION = "2024-06-20"  # pinned: later versions move current_period_* onto subscription items
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class Answer:
    """A decoded Stripe object and its version marker (see `StripeHttp._version`)."""

    body: dict[str, Any]
    version: str


class StripeHttp(VendorHttp):
    def __init__(self, base_url: str = "https://api.stripe.com", *, tokens: TokenProvider,
                 bucket: TokenBucket | None = None, retry: RetryPolicy | None = None,
                 client: httpx.Client | None = None, timeout_s: float = 30.0,
                 api_version: str = API_VERSION, clock: Callable[[], float] = time.time, **kwargs: Any) -> None:
        super().__init__(base_url, system=SYSTEM, tokens=tokens, bucket=bucket, retry=retry, client=client,
                         timeout_s=timeout_s, **kwargs)
        self.api_version = api_version
        self.last_request_id: str | None = None
        self._clock = clock
        self._last_version = 0
        self._version_lock = threading.Lock()

    # -- calls ----------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        return self._answer(self.request("GET", path, params=encode(params or {}), headers=self._headers()))

    def post(self, path: str, params: Mapping[str, Any], idempotency_key: str) -> Answer:
        """Every POST carries an Idempotency-Key (the caller's deterministic one), body form-encoded."""
        if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
            raise PermanentError(f"an idempotency key of 1..{MAX_IDEMPOTENCY_KEY} characters is required",
                                 system=SYSTEM, code="idempotency_key", field="idempotency_key")
        return self._answer(self.request("POST", path, data=dict(encode(params)), headers=self._headers(),
                                         idempotency_key=idempotency_key))

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> Answer:
        # DELETE is idempotent at Stripe by definition; it takes no Idempotency-Key.
        return self._answer(self.request("DELETE", path, params=encode(params or {}), headers=self._headers()))

    def _headers(self) -> dict[str, str]:
        return {"Stripe-Version": self.api_version}

    def _answer(self, response: httpx.Response) -> Answer:
        try:
            body = response.json()
        except ValueError as exc:
            raise PermanentError(f"Stripe answered {response.status_code} with a body that is not JSON",
                                 system=SYSTEM, code="unexpected_shape") from exc
        if not isinstance(body, dict):
            raise PermanentError("Stripe answered with JSON that is not an object", system=SYSTEM,
                                 code="unexpected_shape")
        return Answer(body, self._version())

    def _version(self) -> str:
        """When concord received this state, in microseconds: Stripe objects carry no `updated` field or
        revision, and concord applies a fetched object whole (DESIGN §3), so "received later" orders two
        reads of one object. Strictly increasing within a process (object_is_newer skips equal versions);
        across workers it relies on synchronised clocks, and two reads racing within one request's latency
        may be misordered. Every Stripe change also emits an event, whose fetch then settles the order.
        """
        with self._version_lock:
            self._last_version = max(int(self._clock() * 1_000_000), self._last_version + 1)
            return f"{self._last_version:016d}"

    # -- hooks ----------------------------------------------------------------------------------
    def _is_expired_token(self, response: httpx.Response) -> bool:
        # A Stripe key never expires, but it is rolled: after a 401 the key is read again once (the
        # store may hold the new one); a second 401 is a revoked key (CredentialsRevoked, _classify).
        return response.status_code == 401

    def _observe(self, response: httpx.Response) -> None:
        self.last_request_id = response.headers.get("Request-Id")

    def _classify(self, response: httpx.Response) -> IntegrationError | None:
        status = response.status_code
        if status < 400:
            return None
        error = _error_body(response)
        if error is None:  # not Stripe's shape: a transport failure or a proxy's answer
            return classify_status(SYSTEM, response)
        kwargs: dict[str, Any] = {"system": SYSTEM, "code": str(error.get("code") or error.get("type") or status),
                                  "field": _text(error.get("param"))}
        message = f"Stripe {status} {error.get('type', '')}: {error.get('message', '')}".strip()
        if self.last_request_id:
            message += f" (request {self.last_request_id})"
        if _price_not_sold(status, error):
            return PriceNotSold(message, system=SYSTEM, field=kwargs["field"])
        return _error_class(status, response.headers.get("Stripe-Should-Retry"), message, kwargs,
                            retry_after_seconds(response))


def _error_class(status: int, should_retry: str | None, message: str, kwargs: dict[str, Any],
                 retry_after: float | None) -> IntegrationError:
    if status == 401:
        return CredentialsRevoked(message, **kwargs)
    if should_retry == "true":
        return RetryableError(message, retry_after=retry_after, **kwargs)
    if should_retry == "false" or (status == 409 and kwargs["code"] != "idempotency_key_in_use"):
        return PermanentError(message, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if status in (409, 429) or status >= 500:
        return RetryableError(message, retry_after=retry_after, **kwargs)
    return PermanentError(message, **kwargs)


# An archived price (active=false) cannot be put on a subscription: Stripe answers 400
# invalid_request_error "The price specified is inactive. This field only accepts active prices." with no
# `code`, the param naming the item's price (items[0][price]).
_INACTIVE_PRICE = re.compile(r"\bprice specified is inactive\b", re.I)


def _price_not_sold(status: int, error: Mapping[str, Any]) -> bool:
    param = str(error.get("param") or "")
    return (status == 400 and error.get("type") == "invalid_request_error" and param.endswith("[price]")
            and bool(_INACTIVE_PRICE.search(str(error.get("message") or ""))))


def _error_body(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
