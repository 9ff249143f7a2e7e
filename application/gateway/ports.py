"""What the event gateway needs from the outside, named by capability (DESIGN §2.2-§2.3, §4).

Implemented by adapters/aws/gateway_tables.py (DynamoDB) and by fakes in the unit tests. The
EventPublisher is application.ports' own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

Reply = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Source:
    """A registered HTTP-only system. Its key fixes what it may publish: `source` and `event_names`.

    `key_hashes` are SHA-256 hex digests of its API keys, oldest first: one normally, two while a
    rotation runs (both keys work until the rotation is finished).
    """

    id: str
    name: str
    source: str
    event_names: frozenset[str]
    key_hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class StoredResponse:
    """The answer given the first time, replayed to every repeat of the same event."""

    status: int
    body: Mapping[str, Any] = field(default_factory=dict)

    def reply(self) -> Reply:
        return self.status, dict(self.body)


class IdempotencyInProgress(Exception):
    """Another request holds the same event right now; its outcome is not known yet."""


class SignatureRejected(Exception):
    """A webhook's signature is missing, wrong or too old."""


class SourceRegistry(Protocol):
    def find_by_key_hash(self, key_hash: str) -> Source | None: ...


class SourceAdmin(Protocol):
    """Writes of the sources table (the `concord sources` CLI)."""

    def add(self, source: Source) -> None: ...

    def get(self, source_id: str) -> Source:
        """Raises application.errors.NotFound."""
        ...

    def list(self) -> Sequence[Source]: ...

    def replace_keys(self, source_id: str, expected: tuple[str, ...], keys: tuple[str, ...]) -> None:
        """Swap the key hashes if they are still `expected` (two admins rotating at once: one wins)."""
        ...


class EventIdempotency(Protocol):
    """eventId -> the response first given, claimed with an "in progress" marker before publishing.

    begin: None when the caller now holds the key (go on and publish); the stored response when the
    event was already accepted; raises IdempotencyInProgress when another request holds it.
    release: drop the marker after a failed publish, so that a retry can publish.
    """

    def begin(self, key: str) -> StoredResponse | None: ...

    def complete(self, key: str, response: StoredResponse) -> None: ...

    def release(self, key: str) -> None: ...


class WebhookVerifier(Protocol):
    """Checks a signature header over the raw body; raises SignatureRejected."""

    def verify(self, raw_body: bytes, header: str) -> None: ...


class CalloutCredentials(Protocol):
    """The basic-auth pairs a callout may present: one normally, two while the secret rotates."""

    def credentials(self) -> Sequence[tuple[str, str]]: ...
