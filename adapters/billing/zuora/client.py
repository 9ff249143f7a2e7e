"""Zuora's HTTP client: VendorHttp with Zuora's auth, idempotency and error shapes (VENDORS §0 #7-#10).

- `Authorization: Bearer <token>`; an `Idempotency-Key` on every POST and PATCH, never on GET, PUT
  or DELETE (Zuora: those "should not specify" it). Keys of 255+ characters are hashed: Zuora takes
  fewer than 255.
- HTTP 200 may still be a failure: `success: false` with `reasons: [{code, message}]`, or the CRUD
  shape `Success: false` with `Errors: [{Code, Message}]`. The 8-digit code's last two digits are
  its category (zuora_errors.py).
- 429 -> RetryableError(retry_after=RateLimit-Reset); 409 (same key still running) -> RetryableError,
  retried with the same key; 422 (key reused for another request) -> PermanentError; 5xx -> retry;
  a timeout after sending -> OutcomeUnknown: Zuora says the order "is still running in the
  backend", and the retry with the same key gets its stored answer.
- Answers are parsed with Decimal for numbers, so prices round-trip exactly.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from adapters.billing.zuora.zuora_errors import classify_body
from adapters.outbound import VendorHttp, classify_status, retry_after_seconds
from application.errors import IntegrationError, NotFound, PermanentError, RetryableError

SYSTEM = "zuora"
MAX_KEY_LEN = 254
_KEYED_METHODS = frozenset({"POST", "PATCH"})


def zuora_key(key: str) -> str:
    """The key as sent: unchanged when short enough, else a stable SHA-256 of it."""
    if len(key) <= MAX_KEY_LEN:
        return key
    return "sha256-" + hashlib.sha256(key.encode()).hexdigest()


def body_of(response: httpx.Response) -> Any:
    """The JSON answer with exact decimals; None when the body is not JSON."""
    try:
        return json.loads(response.content or b"null", parse_float=Decimal)
    except ValueError:
        return None


class ZuoraClient(VendorHttp):
    """One tenant's REST API. `rate_limit` holds the last RateLimit-* headers seen."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        kwargs.setdefault("system", SYSTEM)
        super().__init__(base_url, **kwargs)
        self.rate_limit: tuple[int, int, float] | None = None

    def request(self, method: str, path: str, *, json: Any = None, data: Any = None, params: Any = None,
                headers: Mapping[str, str] | None = None, idempotency_key: str | None = None) -> httpx.Response:
        method = method.upper()
        if method in _KEYED_METHODS and not idempotency_key:
            raise PermanentError(f"{method} {path} without an idempotency key: every Zuora write needs one",
                                 system=SYSTEM, code="NO_IDEMPOTENCY_KEY")
        key = zuora_key(idempotency_key) if method in _KEYED_METHODS and idempotency_key else None
        return super().request(method, path, json=json, data=data, params=params, headers=headers,
                               idempotency_key=key)

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """request() and its JSON object; an answer that is no JSON object is a PermanentError."""
        body = body_of(self.request(method, path, **kwargs))
        if not isinstance(body, dict):
            raise PermanentError(f"zuora answered {method} {path} with no JSON object", system=SYSTEM, code="BODY")
        return body

    # -- hooks -------------------------------------------------------------------------------
    def _is_expired_token(self, response: httpx.Response) -> bool:
        if response.status_code == 401:
            return True
        error = classify_body(body_of(response)) if response.status_code == 200 else None
        return error is not None and error.code.endswith("11") and len(error.code) == 8

    def _observe(self, response: httpx.Response) -> None:
        try:
            limit = int(response.headers["RateLimit-Limit"])
            remaining = int(response.headers["RateLimit-Remaining"])
            reset = float(response.headers["RateLimit-Reset"])
        except (KeyError, ValueError):
            return
        self.rate_limit = (limit, remaining, reset)
        if remaining <= 0 and self.bucket is not None:
            # The window is spent: every caller waits for it rather than earning a 429.
            self.bucket.pause_until(time.monotonic() + reset)

    def _classify(self, response: httpx.Response) -> IntegrationError | None:
        status = response.status_code
        if status == 409:
            return RetryableError("zuora: a request with this idempotency key is still in progress",
                                  system=SYSTEM, code="409", retry_after=retry_after_seconds(response))
        if status == 422:
            return PermanentError("zuora: idempotency key reused for a different request (URL or method): "
                                  "a bug in concord's key derivation, not a vendor fault",
                                  system=SYSTEM, code="422")
        if status == 200:
            return classify_body(body_of(response))
        error = classify_status(SYSTEM, response)
        if status == 404:
            error = NotFound(f"zuora answered 404: {response.text[:300]}", system=SYSTEM, code="404")
        body_error = classify_body(body_of(response))
        if error is not None and body_error is not None and not isinstance(error, RetryableError):
            return body_error  # a 4xx with Zuora reasons: keep its category and field
        return error
