"""Long-running operator jobs kept as events: reconciliation runs and backfill checkpoints."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.base import NAMESPACE


class ReconciliationLog(Aggregate):
    """One per entity kind; every run appends its result, so the last event is the last run."""

    @staticmethod
    def create_id(entity: str) -> UUID:
        return uuid5(NAMESPACE, f"reconciliation:{entity}")

    @event("Started")
    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.last: dict[str, Any] | None = None

    def record(self, result: dict[str, Any], correlation_id: str) -> None:
        self._completed(result=result, correlation_id=correlation_id)

    @event("RunCompleted")
    def _completed(self, result: dict[str, Any], correlation_id: str) -> None:
        self.last = result


class Backfill(Aggregate):
    """The checkpoint of an initial load: the cursor after the last finished page."""

    @staticmethod
    def create_id(entity: str, since: str) -> UUID:
        return uuid5(NAMESPACE, f"backfill:{entity}:{since}")

    @event("Started")
    def __init__(self, entity: str, since: str) -> None:
        self.entity, self.since = entity, since
        self.cursor: str | None = None
        self.loaded = 0
        self.done = False

    def checkpoint(self, cursor: str | None, loaded: int) -> None:
        self._page_done(cursor=cursor, loaded=loaded)

    @event("PageDone")
    def _page_done(self, cursor: str | None, loaded: int) -> None:
        self.cursor, self.loaded = cursor, self.loaded + loaded
        self.done = cursor is None
