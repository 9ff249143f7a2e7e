"""What outbound delivery needs (DESIGN §2.3): destinations, their secrets, an HTTP sender, a rate.

Implemented by adapters/aws/gateway_tables (destinations, delivered markers), adapters/http_delivery
(sender, per-destination buckets) and by fakes in the unit tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

AuthKind = Literal["none", "api_key", "basic", "oauth"]
AUTH_KINDS: tuple[AuthKind, ...] = ("none", "api_key", "basic", "oauth")


@dataclass(frozen=True)
class Destination:
    """A registered receiver of concord's events.

    `auth_secret_ref` names the secret (Secrets Manager) holding the auth material, by kind:
        api_key: {"key": ..., "header": "x-api-key"?}    basic: {"username": ..., "password": ...}
        oauth:   {"token_url": ..., "client_id": ..., "client_secret": ..., "scope": ...?}
    `signing_secrets`: one v1 signature per secret; two while the receiver moves to a new secret.
    """

    id: str
    name: str
    url: str
    event_names: frozenset[str]
    signing_secrets: tuple[str, ...]
    auth_kind: AuthKind = "none"
    auth_secret_ref: str | None = None
    rate_per_s: float = 5.0


@dataclass(frozen=True)
class SendResult:
    """What the receiver answered. `retry_after` is its Retry-After in seconds, when given."""

    status: int
    retry_after: float | None = None
    excerpt: str = ""


class DestinationDirectory(Protocol):
    def subscribed_to(self, event_name: str) -> Sequence[Destination]: ...


class SecretReader(Protocol):
    """A JSON secret by name; raises RetryableError (unreachable) or PermanentError (no such secret)."""

    def read_json(self, ref: str) -> Mapping[str, str]: ...


class DeliverySender(Protocol):
    """One HTTP POST, no retries. Transport failures raise RetryableError (OutcomeUnknown after a timeout)."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...

    def fetch_token(self, token_url: str, client_id: str, client_secret: str,
                    scope: str | None) -> tuple[str, float]:
        """OAuth 2.0 client credentials: (access token, lifetime in seconds)."""
        ...


class RateLimiter(Protocol):
    """Blocks until `key` may send again at `rate_per_s` (one bucket per destination)."""

    def acquire(self, key: str, rate_per_s: float) -> None: ...


class Backoff(Protocol):
    """adapters.outbound.RetryPolicy fits: attempts, and the delay before the next one."""

    max_attempts: int

    def delay(self, attempt: int, hint_s: float | None = None) -> float: ...


class DeliveryLedger(Protocol):
    """Which (event, destination) pairs were delivered, so a retried message skips them."""

    def delivered(self, event_id: str, destination_id: str) -> bool: ...

    def mark_delivered(self, event_id: str, destination_id: str) -> None: ...
