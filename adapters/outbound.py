"""Outbound discipline shared by every vendor client: rate, retries, tokens, error classes.

`VendorHttp` is a template-method base (as Powertools' idempotency persistence base): `request`
is the public algorithm; each vendor overrides the hooks that read its own error shapes.

Across Lambda instances the request rate is bounded by
    max rate = event source mapping MaximumConcurrency x TokenBucket.rate_per_s
(see infrastructure/settings.py); the bucket is per process, the concurrency cap is per function.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from application.errors import (
    CredentialsRevoked,
    IntegrationError,
    OutcomeUnknown,
    PermanentError,
    RetryableError,
)
from application.ports import TokenProvider


class TokenBucket:
    """A thread-safe rate limiter: `rate_per_s` sustained, at most `burst` at once, and never more than
    the rate in any 1 s window of actual sends.

    Each caller reserves the next slot on a schedule (GCRA: slots 1/rate apart, `burst - 1` slots of
    credit), so a thread that wakes late does not waste the slots after it (a plain bucket capped
    at one token loses that time: 19% under the rate, measured). A sliding log of the last sends
    then makes the ceiling strict on actual send times, late wake-ups included.
    """

    WINDOW_S = 1.0

    def __init__(self, rate_per_s: float, burst: int | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.rate_per_s = rate_per_s
        self.burst = burst if burst is not None else max(1, int(rate_per_s))
        self._clock, self._sleep = clock, sleep
        self._interval = 1.0 / rate_per_s
        self._tolerance = (self.burst - 1) * self._interval
        self._next_slot = clock()
        self._cap = max(1, int(rate_per_s * self.WINDOW_S))
        self._sent: deque[float] = deque(maxlen=self._cap)
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def pause_until(self, deadline: float) -> None:
        """Every caller waits until `deadline` (monotonic seconds): the vendor said Retry-After."""
        with self._lock:
            self._paused_until = max(self._paused_until, deadline)

    def acquire(self) -> float:
        """Wait for a send slot; returns the monotonic time the send was admitted at."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until, self._next_slot - self._tolerance)
            self._next_slot = max(self._next_slot, slot) + self._interval
        self._wait_until(slot)
        while True:
            admitted, wait = self._admit()
            if wait <= 0:
                return admitted
            self._sleep(wait)

    def _wait_until(self, moment: float) -> None:
        delay = moment - self._clock()
        if delay > 0:
            self._sleep(delay)

    def _admit(self) -> tuple[float, float]:
        """(now, 0) once a send is recorded, or (now, how long until the window or a pause allows it)."""
        with self._lock:
            now = self._clock()
            if now < self._paused_until:
                return now, self._paused_until - now
            if len(self._sent) == self._cap and now - self._sent[0] < self.WINDOW_S:
                return now, self._sent[0] + self.WINDOW_S - now
            self._sent.append(now)
            return now, 0.0


class RetryPolicy:
    """Exponential backoff with full jitter (sleep = random(0, min(cap, base * 2^attempt)))."""

    def __init__(self, max_attempts: int = 5, base_delay_s: float = 0.2, max_delay_s: float = 20.0,
                 rng: random.Random | None = None) -> None:
        self.max_attempts = max_attempts
        self.base_delay_s, self.max_delay_s = base_delay_s, max_delay_s
        self._rng = rng or random.Random()

    def delay(self, attempt: int, hint_s: float | None = None) -> float:
        """Seconds to wait before try number `attempt + 1`; a vendor's hint wins over the backoff."""
        if hint_s is not None and hint_s >= 0:
            return min(hint_s, self.max_delay_s * 3)
        return self._rng.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


class StaticTokens:
    """A TokenProvider over fixed tokens (tests, Stripe keys)."""

    def __init__(self, tokens: Mapping[str, str]) -> None:
        self._tokens = dict(tokens)

    def token(self, system: str) -> str:
        return self._tokens[system]

    def invalidate(self, system: str, rejected: str) -> str:
        return self._tokens[system]


class FetchingTokens:
    """A TokenProvider that fetches from the vendor directly and caches until expiry (local stack, tests).

    `fetch` returns (token, lifetime seconds). Production reads tokens the access manager stored
    (adapters/aws); this is the same contract without SSM.
    """

    def __init__(self, fetch: Callable[[], tuple[str, float]], *, margin_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch, self._margin_s, self._clock = fetch, margin_s, clock
        self._token: str | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.fetches = 0

    def token(self, system: str) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - self._margin_s:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self, system: str, rejected: str) -> str:
        with self._lock:
            if self._token == rejected:  # another thread may have refreshed already
                self._refresh()
            assert self._token is not None
            return self._token

    def _refresh(self) -> None:
        token, lifetime = self._fetch()
        self.fetches += 1
        self._token, self._expires = token, self._clock() + lifetime


class VendorHttp:
    """One vendor's HTTP client: rate-limited, retried with the same key, errors classified."""

    def __init__(self, base_url: str, *, system: str, tokens: TokenProvider | None,
                 bucket: TokenBucket | None = None, retry: RetryPolicy | None = None,
                 client: httpx.Client | None = None, timeout_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.system = system
        self.tokens = tokens
        self.bucket = bucket
        self.retry = retry or RetryPolicy()
        # One client per adapter: keep-alive and connection reuse across requests.
        self.client = client or httpx.Client(timeout=timeout_s, limits=httpx.Limits(max_keepalive_connections=20))
        self._sleep = sleep
        self.requests_sent = 0

    # -- the algorithm -----------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, data: Any = None,
                params: Any = None, headers: Mapping[str, str] | None = None,
                idempotency_key: str | None = None) -> httpx.Response:
        extra = dict(headers or {})
        if idempotency_key is not None:
            extra[self._idempotency_header()] = idempotency_key
        refreshed = False
        attempt = 0
        while True:
            token = self.tokens.token(self.system) if self.tokens is not None else None
            response = self._send(method, path, json=json, data=data, params=params, headers=extra, token=token)
            if self._is_expired_token(response) and self.tokens is not None and token is not None:
                if refreshed:
                    raise self._rejected_after_refresh(response)
                self.tokens.invalidate(self.system, token)
                refreshed = True
                continue
            error = self._classify(response)
            if error is None:
                return response
            attempt = self._after_failure(error, attempt)

    def _after_failure(self, error: IntegrationError, attempt: int) -> int:
        """Raise a permanent error or the last retryable one; otherwise wait and count the attempt."""
        if not isinstance(error, RetryableError) or attempt + 1 >= self.retry.max_attempts:
            raise error
        delay = self.retry.delay(attempt, error.retry_after)
        if self.bucket is not None and error.retry_after is not None:
            self.bucket.pause_until(time.monotonic() + delay)
        self._sleep(delay)
        return attempt + 1

    def _send(self, method: str, path: str, *, token: str | None, headers: dict[str, str],
              **kwargs: Any) -> httpx.Response:
        if self.bucket is not None:
            self.bucket.acquire()
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        all_headers = {**(self._auth_headers(token) if token is not None else {}), **headers}
        self.requests_sent += 1
        try:
            response = self.client.request(method, url, headers=all_headers, **kwargs)
        except httpx.ConnectError as exc:  # nothing was sent: safe to retry
            return self._synthetic(599, f"connect failed: {exc}")
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            # The vendor may have acted on it: the retry with the same idempotency key settles it.
            return self._synthetic(598, f"{method} {path}: no answer ({type(exc).__name__})")
        self._observe(response)
        return response

    @staticmethod
    def _synthetic(status: int, reason: str) -> httpx.Response:
        return httpx.Response(status, json={"concord_transport_error": reason})

    # -- hooks -------------------------------------------------------------------------------
    def _rejected_after_refresh(self, response: httpx.Response) -> IntegrationError:
        """The fresh token was refused too: revoked credentials if the vendor says so (an alarm),
        else retryable (a token store lagging behind a refresh or a rotation)."""
        error = self._classify(response)
        if isinstance(error, CredentialsRevoked):
            return error
        return RetryableError("token rejected twice after a refresh", system=self.system, code="TOKEN_REJECTED")

    def _idempotency_header(self) -> str:
        return "Idempotency-Key"

    def _auth_headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def _is_expired_token(self, response: httpx.Response) -> bool:
        return response.status_code == 401

    def _observe(self, response: httpx.Response) -> None:
        """Read usage headers (rate limits, quotas) from every answer."""

    def _classify(self, response: httpx.Response) -> IntegrationError | None:
        """Default classification by status; vendors override to read their own error bodies."""
        return classify_status(self.system, response)


def classify_status(system: str, response: httpx.Response) -> IntegrationError | None:
    status = response.status_code
    if status < 400:
        return None
    text = response.text[:500]
    if status in (598, 599):
        error_class = OutcomeUnknown if status == 598 else RetryableError
        return error_class(f"{system}: {text}", system=system, code="TRANSPORT")
    if status == 429 or status >= 500 or status == 408:
        # RateLimit-Reset says when the rate window resets: a wait for a 429 only. Zuora sends it on every
        # answer, so a 5xx read it as "retry in up to 60 s" (found by the local-stack chaos run).
        hint = retry_after_seconds(response, ("Retry-After", "RateLimit-Reset") if status == 429 else ("Retry-After",))
        return RetryableError(f"{system} answered {status}: {text}", system=system, code=str(status),
                              retry_after=hint)
    return PermanentError(f"{system} answered {status}: {text}", system=system, code=str(status))


def retry_after_seconds(response: httpx.Response,
                        names: tuple[str, ...] = ("Retry-After", "RateLimit-Reset")) -> float | None:
    """`Retry-After` (seconds) or the IETF `RateLimit-Reset` (seconds), whichever the vendor sent."""
    for name in names:
        value = response.headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return None
