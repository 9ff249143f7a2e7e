"""The HTTP side of outbound deliveries: one POST per call (httpx), OAuth tokens, per-destination rates.

Retries and their backoff belong to application/delivery (it decides what a status means); this
module only turns transport failures into application errors: nothing reached the receiver ->
RetryableError; the request may have been received (timeout, dropped connection) -> OutcomeUnknown,
which is retried with the same `Idempotency-Key` (the eventId) so the receiver can dedupe.

Across Lambda instances a destination sees at most
    delivery function MaximumConcurrency x Destination.rate_per_s   requests per second.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from adapters.outbound import TokenBucket
from application.delivery import SendResult
from application.errors import CredentialsRevoked, OutcomeUnknown, PermanentError, RetryableError

DEFAULT_TOKEN_LIFETIME_S = 3600.0


class HttpDeliverySender:
    """DeliverySender over one shared httpx client (keep-alive across deliveries of a warm Lambda)."""

    def __init__(self, client: httpx.Client | None = None, *, timeout_s: float = 10.0) -> None:
        # Redirects are not followed: a signed body must reach the URL its owner registered.
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        response = self._send("POST", url, content=body, headers=dict(headers))
        return SendResult(response.status_code, retry_after(response), response.text[:300])

    def fetch_token(self, token_url: str, client_id: str, client_secret: str,
                    scope: str | None) -> tuple[str, float]:
        """OAuth 2.0 client credentials (RFC 6749 §4.4), client authenticated with HTTP basic (§2.3.1)."""
        form = {"grant_type": "client_credentials", **({"scope": scope} if scope else {})}
        response = self._send("POST", token_url, data=form, auth=(client_id, client_secret),
                              headers={"Accept": "application/json"})
        if response.status_code in (400, 401):
            raise CredentialsRevoked(f"token endpoint refused the client: {response.text[:200]}",
                                     system=token_url, code=str(response.status_code))
        if response.status_code == 429 or response.status_code >= 500:
            raise RetryableError(f"token endpoint answered {response.status_code}", system=token_url,
                                 code=str(response.status_code), retry_after=retry_after(response))
        return _token(response, token_url)

    def _send(self, method: str, url: str, **kwargs: object) -> httpx.Response:
        try:
            return self._client.request(method, url, **kwargs)  # type: ignore[arg-type]
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise PermanentError(f"bad destination URL {url!r}: {exc}", system=url, code="BAD_URL") from exc
        except httpx.ConnectError as exc:
            raise RetryableError(f"cannot connect to {url}: {exc}", system=url, code="CONNECT") from exc
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise OutcomeUnknown(f"{method} {url}: no answer ({type(exc).__name__})", system=url,
                                 code="NO_ANSWER") from exc
        except httpx.HTTPError as exc:
            raise RetryableError(f"{method} {url} failed: {exc}", system=url, code="TRANSPORT") from exc


def _token(response: httpx.Response, token_url: str) -> tuple[str, float]:
    try:
        document = response.json()
    except ValueError as exc:
        raise PermanentError(f"token endpoint answered {response.status_code}, not JSON", system=token_url,
                             code="BAD_TOKEN") from exc
    token = document.get("access_token") if isinstance(document, dict) and response.is_success else None
    if not isinstance(token, str) or not token:
        raise PermanentError(f"token endpoint answered {response.status_code} without access_token",
                             system=token_url, code="BAD_TOKEN")
    lifetime = document.get("expires_in", DEFAULT_TOKEN_LIFETIME_S)
    usable = isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0
    return token, float(lifetime) if usable else DEFAULT_TOKEN_LIFETIME_S


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds, from either form RFC 9110 allows (delay-seconds or an HTTP-date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PerDestinationBuckets:
    """RateLimiter: one token bucket per destination, rebuilt when its configured rate changes."""

    def __init__(self) -> None:
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, rate_per_s: float) -> None:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.rate_per_s != rate_per_s:
                bucket = self._buckets[key] = TokenBucket(rate_per_s, burst=1)
        bucket.acquire()  # outside the lock: one slow destination must not block the others
