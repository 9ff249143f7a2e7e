"""One save = one TransactWriteItems with a constant number of actions per aggregate.

    per aggregate   Update head   condition: the save starts after the head's last version
                    Put events    all of the save's events of that aggregate, in one item
    application     Update counter  condition: counter == the value we numbered from
                    Put log         all of the save's notifications, in one item
    process         Update tracking condition: new tracking id > the recorded one

A failed head or tracking condition is a conflict (IntegrityError). A failed counter condition only
means another writer numbered first: re-number from the value DynamoDB returned and try again.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.persistence import IntegrityError, OperationalError, StoredEvent, Tracking

from .codec import encode_events
from .items import HI, Item, N, events_pk, head_pk, key, num, range_item

MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 0.01
BACKOFF_CAP_SECONDS = 0.5
RETRYABLE_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


@dataclass
class AggregateBatch:
    """One aggregate's events in one save, in version order, packed in one frame."""

    originator_id: UUID | str
    events: list[StoredEvent]
    frame: bytes

    @property
    def first(self) -> int:
        return self.events[0].originator_version

    @property
    def last(self) -> int:
        return self.events[-1].originator_version


@dataclass
class SaveRequest:
    batches: list[AggregateBatch]
    notifications: Sequence[StoredEvent] = ()
    tracking: Tracking | None = None
    log_frame: bytes = b""
    roles: list[str] = field(default_factory=list)
    """What each transaction action is ("head", "events", "counter", "log", "tracking"), in order."""


def plan_batches(stored_events: Sequence[StoredEvent]) -> list[AggregateBatch]:
    """Group events by aggregate; refuse a save that repeats an (aggregate, version) pair."""
    groups: dict[str, list[StoredEvent]] = {}
    for event in stored_events:
        groups.setdefault(str(event.originator_id), []).append(event)
    batches = []
    for events in groups.values():
        if len({e.originator_version for e in events}) < len(events):
            raise IntegrityError(f"Stored events are not unique: {events}")
        ordered = sorted(events, key=lambda e: e.originator_version)
        batches.append(AggregateBatch(ordered[0].originator_id, ordered, encode_events(ordered)))
    return batches


def aggregate_actions(ns: str, batch: AggregateBatch) -> list[Item]:
    """The head update and the events put of one aggregate.

    Timeline of two writers W1, W2 that both loaded version 4 and append version 5:

        W1: read v4 ... transact [head: hi < 5 ? -> hi = 5] [put e#5]   committed
        W2: read v4 ......... transact [head: hi < 5 ? -> no: hi = 5]   cancelled -> IntegrityError

    The head's condition is the whole concurrency check: versions only ever go up, so "nothing is
    recorded at or after my first version" is "the last recorded version is below it". It also
    makes the aggregate's items non-overlapping ranges, which keeps reads at two queries.
    """
    head: Item = {
        "Key": key(head_pk(ns, batch.originator_id)),
        "ConditionExpression": "attribute_not_exists(#hi) OR #hi < :first",
        "UpdateExpression": "SET #hi = :last",
        "ExpressionAttributeNames": {"#hi": HI},
        "ExpressionAttributeValues": {":first": num(batch.first), ":last": num(batch.last)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    put = range_item(events_pk(ns, batch.originator_id), batch.first, batch.last, batch.frame)
    return [{"Update": head}, {"Put": {"Item": put}}]


def counter_action(pk: str, current: int, count: int) -> Item:
    """Advance the notification counter from `current` by `count`, only if nobody else has.

    Timeline of two processes that both last saw the counter at 41:

        P1: transact [counter: n = 41 ? -> 42] [log 42]                   committed
        P2: transact [counter: n = 41 ? -> no; ALL_OLD returns n = 42]    cancelled, not a conflict
        P2: transact [counter: n = 42 ? -> 43] [log 43]                   committed

    The ids stay gap-free because the counter moves only in a committed save, and the log item's
    key (its first id) is unique because only one save can move the counter past it.
    """
    update: Item = {
        "Key": key(pk),
        "UpdateExpression": "SET #n = :next",
        "ExpressionAttributeNames": {"#n": N},
        "ExpressionAttributeValues": {":next": num(current + count)},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if current == 0:
        update["ConditionExpression"] = "attribute_not_exists(#n)"
    else:
        update["ConditionExpression"] = "#n = :current"
        update["ExpressionAttributeValues"][":current"] = num(current)
    return {"Update": update}


def tracking_update(pk: str, tracking: Tracking) -> Item:
    """Record a tracking position, only if it is beyond the recorded one (no filling in gaps)."""
    return {
        "Key": key(pk),
        "UpdateExpression": "SET #n = :id",
        "ConditionExpression": "attribute_not_exists(#n) OR #n < :id",
        "ExpressionAttributeNames": {"#n": N},
        "ExpressionAttributeValues": {":id": num(tracking.notification_id)},
    }


def log_action(pk: str, first_id: int, request: SaveRequest) -> Item:
    """All of the save's notifications, in the order given, as one item keyed by the first id."""
    last_id = first_id + len(request.notifications) - 1
    return {"Put": {"Item": range_item(pk, first_id, last_id, request.log_frame)}}


def backoff(attempt: int) -> None:
    """Full jitter: contending writers spread out instead of colliding again in lockstep."""
    time.sleep(random.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)))


def give_up(attempts: int) -> OperationalError:
    return OperationalError(
        f"Save not committed after {attempts} attempts: the notification counter is contended by "
        "other writers (or DynamoDB kept cancelling the transaction). Retry the command."
    )
