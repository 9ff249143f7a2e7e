"""The eventsourcing Application that holds concord's aggregates, and the audit read of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.account import Account
from domain.base import SyncedAggregate
from domain.correlation import Correlation, CorrelationClaim
from domain.order import Order
from domain.product import Product

A = TypeVar("A", bound=Aggregate)
R = TypeVar("R")

ENTITIES: dict[str, type[Aggregate]] = {"account": Account, "order": Order, "product": Product}


class ConcordApp(Application[UUID]):
    """One application, one notification log: the outbox relay publishes it in order."""

    name = "concord"
    snapshotting_intervals: ClassVar[dict[Any, int]] = {
        Account: 50, Order: 50, Product: 50, Correlation: 50,
    }

    def get_or_none(self, cls: type[A], *key: str) -> A | None:
        aggregate_id: UUID = cls.create_id(*key)
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        if not isinstance(aggregate, cls):
            raise TypeError(f"{aggregate_id} is a {type(aggregate).__name__}, not a {cls.__name__}")
        return aggregate

    def get_claim(self, entity: str, system: str, external_id: str) -> CorrelationClaim | None:
        return self.get_or_none(CorrelationClaim, entity, system, external_id)


@dataclass
class VendorWrites:
    """The vendor writes of one handler call, across its conflict retries (DESIGN §3, optimistic concurrency).

    An attempt writes to a vendor, then saves. When its save loses the version race, its write may
    have landed AFTER the winner's, with older values, and the retry, finding nothing newer to
    apply, would leave them there. So `retry_on_conflict` moves the keys such an attempt sent to
    `overtaken`, and the retry pushes the stored (winner's) state whole under `repush_key`: a key
    of its own, since a key sent before makes the vendor replay its stored answer (24 h) without
    applying anything. A delivery that may follow a killed worker (a redelivery) is marked too.
    The normal path costs nothing: no read, no write, nothing stored.
    """

    sent: list[str] = field(default_factory=list)  # by the current attempt
    overtaken: list[str] = field(default_factory=list)  # by attempts that lost the race, or earlier deliveries

    def record(self, key: str) -> None:
        self.sent.append(key)

    def redelivered(self, correlation_id: str, attempt: int) -> None:
        """An earlier delivery of this message may have written, then died before saving."""
        self.overtaken.append(f"delivery:{correlation_id}:{attempt}")

    @property
    def may_be_stale(self) -> bool:
        return bool(self.overtaken)

    def repush_key(self, aggregate: SyncedAggregate, action: str, payload: Any) -> str:
        """Deterministic for this state and these overtaken writes, and never a key sent before them."""
        return aggregate.idempotency_key(action, {"payload": payload, "after": self.overtaken})

    def _attempt_starts(self) -> None:
        self.sent = []

    def _attempt_lost(self) -> None:
        self.overtaken += self.sent
        self.sent = []


def retry_on_conflict(attempt: Callable[[], R], *, attempts: int = 5, pause_s: float = 0.01,
                      writes: VendorWrites | None = None) -> R:
    """Optimistic concurrency (DESIGN §3): the loser of a version race reloads and tries again.

    With `writes`, the vendor writes of a losing attempt are remembered, so the retry knows to push
    the stored state again (see VendorWrites)."""
    for number in range(attempts):
        if writes is not None:
            writes._attempt_starts()
        try:
            return attempt()
        except IntegrityError:
            if writes is not None:
                writes._attempt_lost()
            if number == attempts - 1:
                raise
            time.sleep(pause_s * (2**number))
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str
    timestamp: datetime
    correlation_id: str
    source_position: Any
    changes: dict[str, Any]


_NOT_CHANGES = {"originator_id", "originator_version", "originator_topic", "timestamp", "correlation_id",
                "source_position"}


def history(app: ConcordApp, aggregate_id: UUID, as_of: datetime | None = None) -> list[HistoryEntry]:
    """Every event of an aggregate with its time, source position and correlation id (the audit trail)."""
    entries: list[HistoryEntry] = []
    for domain_event in app.repository.event_store.get(aggregate_id):
        timestamp: datetime = domain_event.__dict__["timestamp"]
        if as_of is not None and timestamp > as_of:
            break
        attrs = {k: v for k, v in domain_event.__dict__.items() if k not in _NOT_CHANGES}
        entries.append(HistoryEntry(
            version=domain_event.originator_version, event=type(domain_event).__qualname__.split(".")[-1],
            timestamp=timestamp, correlation_id=str(domain_event.__dict__.get("correlation_id", "")),
            source_position=domain_event.__dict__.get("source_position"), changes=attrs,
        ))
    return entries


def state_as_of(app: ConcordApp, aggregate_id: UUID, as_of: datetime) -> Aggregate | None:
    """The aggregate as it was at a past time (None if it did not exist yet)."""
    entries = history(app, aggregate_id, as_of)
    if not entries:
        return None
    aggregate: Aggregate = app.repository.get(aggregate_id, version=entries[-1].version)
    return aggregate
