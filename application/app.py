"""The eventsourcing Application that holds concord's aggregates, and the audit read of it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.account import Account
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


def retry_on_conflict(attempt: Callable[[], R], *, attempts: int = 5, pause_s: float = 0.01) -> R:
    """Optimistic concurrency (DESIGN §3): the loser of a version race reloads and tries again."""
    for number in range(attempts):
        try:
            return attempt()
        except IntegrityError:
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
