"""Long-running operator jobs kept as events: reconciliation runs and backfill checkpoints."""

from __future__ import annotations

from datetime import datetime
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
    """The checkpoint of an initial load: the watermark after the last finished page.

    Events stay readable across versions: PageDone's added arguments have defaults, so a PageDone
    stored before they existed (cursor and loaded only) replays as it did. The quota pause is an event
    (Paused, then Resumed when a later run continues), so the audit says when and why a load waited.
    """

    EXAMPLES = 10
    WINDOW_S = 24 * 3600  # Salesforce's API quota is a rolling 24 h window

    @staticmethod
    def create_id(entity: str, since: str) -> UUID:
        return uuid5(NAMESPACE, f"backfill:{entity}:{since}")

    @event("Started")
    def __init__(self, entity: str, since: str) -> None:
        self.entity, self.since = entity, since
        self.cursor: str | None = None
        self.loaded = 0
        self.done = False
        self.pages = 0
        self.total: int | None = None
        self.failed: dict[str, int] = {}
        self.examples: list[dict[str, str]] = []
        self.paused: dict[str, Any] | None = None
        self.recent: list[tuple[str, int]] = []  # (finished at, CRM calls) of pages in the last 24 h

    def counted(self, total: int) -> None:
        self._counted(total=total)

    @event("Counted")
    def _counted(self, total: int) -> None:
        self.total = total

    def checkpoint(self, cursor: str | None, loaded: int, *, failed: dict[str, int] | None = None,
                   examples: list[dict[str, str]] | None = None, calls: int = 0, at: str = "") -> None:
        self._page_done(cursor=cursor, loaded=loaded, failed=failed or {}, examples=examples or [], calls=calls,
                        at=at)

    @event("PageDone")
    def _page_done(self, cursor: str | None, loaded: int, failed: dict[str, int] | None = None,
                   examples: list[dict[str, str]] | None = None, calls: int = 0, at: str = "") -> None:
        self.cursor, self.loaded = cursor, self.loaded + loaded
        self.done = cursor is None
        self.pages += 1
        self.paused = None
        for code, count in (failed or {}).items():
            self.failed[code] = self.failed.get(code, 0) + count
        self.examples = (self.examples + list(examples or []))[:self.EXAMPLES]
        if at:
            self.recent = [(t, n) for t, n in self.recent if _seconds_between(t, at) < self.WINDOW_S]
            self.recent.append((at, calls))

    def pause(self, reason: str, used: int, limit: int, floor: int, resume_after: str | None, at: str) -> None:
        self._paused(reason=reason, used=used, limit=limit, floor=floor, resume_after=resume_after, at=at)

    @event("Paused")
    def _paused(self, reason: str, used: int, limit: int, floor: int, resume_after: str | None, at: str) -> None:
        self.paused = {"reason": reason, "used": used, "limit": limit, "floor": floor,
                       "resume_after": resume_after, "at": at}

    def resume(self, at: str) -> None:
        if self.paused is not None:
            self._resumed(at=at)

    @event("Resumed")
    def _resumed(self, at: str) -> None:
        self.paused = None


def _seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()
