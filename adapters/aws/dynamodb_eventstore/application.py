"""The application recorder: aggregate sequences plus the gap-free notification log."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import (
    ApplicationRecorder,
    Notification,
    StoredEvent,
    Subscription,
)

from .aggregate import DynamoDBAggregateRecorder
from .codec import decode_events, encode_events
from .items import Item, N, counter_pk, key, log_pk, read_num
from .ranges import iter_range_items
from .save import AggregateBatch, SaveRequest, counter_action, log_action, plan_batches
from .subscription import DynamoDBSubscription
from .table import DynamoDBTable

MAX_LOG_PAGE = 500


class DynamoDBApplicationRecorder(DynamoDBAggregateRecorder, ApplicationRecorder):
    """Numbers each save's events from a per-application counter, in the save's transaction.

    The counter moves only when the whole save commits, so notification ids have no gaps. Saves of
    one process are serialised by a lock (they would only collide on the counter otherwise) and
    number from the last value this process saw; another process's save in between costs one
    cancelled transaction, after which DynamoDB has told us the counter's current value.
    """

    def __init__(self, table: DynamoDBTable, prefix: str = "stored", purpose: str = "events") -> None:
        super().__init__(table, prefix, purpose)
        self._save_lock = threading.Lock()
        self._counter: int | None = None  # last notification id we know of; None: read it first
        self._listeners: set[threading.Event] = set()
        self.poll_interval = 0.5

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        request = SaveRequest(plan_batches(stored_events), stored_events, kwargs.get("tracking"))
        request.log_frame = encode_events(stored_events) if stored_events else b""
        if not stored_events and request.tracking is None:
            return []
        with self._save_lock:
            ids = self._save(request)
        for listener in list(self._listeners):
            listener.set()
        return ids

    def _actions(self, request: SaveRequest) -> list[Item]:
        actions = super()._actions(request)
        if request.notifications:
            if self._counter is None:
                self._counter = self.max_notification_id() or 0
            actions.append(counter_action(counter_pk(self.ns), self._counter, len(request.notifications)))
            actions.append(log_action(log_pk(self.ns), self._counter + 1, request))
            request.roles += ["counter", "log"]
        return actions

    def _condition_failed(self, role: str, item: Item | None, batch: AggregateBatch | None) -> None:
        if role == "counter":
            # Another writer numbered first: its value came back with the cancellation (ALL_OLD).
            # Retry from it, or re-read the counter if the response did not carry the item.
            self._counter = (read_num(item, N) or 0) if item else None
            return
        super()._condition_failed(role, item, batch)

    def _committed(self, request: SaveRequest) -> list[int]:
        if not request.notifications or self._counter is None:
            return []
        first = self._counter + 1
        self._counter += len(request.notifications)
        return list(range(first, self._counter + 1))

    def max_notification_id(self) -> int | None:
        return read_num(self.table.get(key(counter_pk(self.ns))), N) or None

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        lo = 1 if start is None else max(start if inclusive_of_start else start + 1, 1)
        results: list[Notification] = []
        if limit < 1:
            return results
        for notification in self._contiguous(lo, stop, page_size=min(max(limit, 10), MAX_LOG_PAGE)):
            if not topics or notification.topic in topics:
                results.append(notification)
                if len(results) == limit:
                    break
        return results

    def _contiguous(self, lo: int, stop: int | None, page_size: int) -> Iterator[Notification]:
        """Notifications lo..stop in id order, ending early at the first id not yet visible.

        A Query is only read-committed across items. Timeline of two saves and one reader:

            save A (ids 7-8):  ....commit
            save B (ids 9):              ....commit      (B numbered after A committed)
            reader query:              [reads item 7: not there yet ..... reads item 9: there]

        The reader can see 9 without 7-8. Yielding 9 would make a follower skip 7-8 for ever, so
        reading stops at the gap; the next poll finds 7-8 committed.
        """
        expected = lo
        for item in iter_range_items(self.table, log_pk(self.ns), lo, stop, page_size=page_size):
            if item.first > expected:
                return
            for offset, event in enumerate(decode_events(item.frame)):
                nid = item.first + offset
                if nid < expected:
                    continue
                if stop is not None and nid > stop:
                    return
                yield Notification(
                    event.originator_id, event.originator_version, event.topic, event.state, nid
                )
            expected = item.last + 1

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = ()
    ) -> Subscription[ApplicationRecorder]:
        return DynamoDBSubscription(recorder=self, gt=gt, topics=topics)

    def listen(self, event: threading.Event) -> None:
        self._listeners.add(event)

    def unlisten(self, event: threading.Event) -> None:
        self._listeners.discard(event)
