"""The aggregate recorder: events (or snapshots) of aggregates, one range item per aggregate per save."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import AggregateRecorder, IntegrityError, OperationalError, StoredEvent

from .codec import decode_events
from .items import HI, Item, check_transaction, events_pk, read_num
from .ranges import iter_range_items
from .save import (
    MAX_ATTEMPTS,
    RETRYABLE_CODES,
    AggregateBatch,
    SaveRequest,
    aggregate_actions,
    backoff,
    give_up,
    plan_batches,
)
from .table import DynamoDBTable, TransactionCancelled


class DynamoDBAggregateRecorder(AggregateRecorder):
    """Records aggregate sequences in `table`, under the namespace "<prefix>_<purpose>".

    Versions of an aggregate only go up: an insert must start after the aggregate's last recorded
    version, else IntegrityError. (The SQL recorders would also accept a missing older version,
    e.g. a snapshot older than the newest one; see EVENTSTORE.md, "Semantics".)
    """

    def __init__(self, table: DynamoDBTable, prefix: str = "stored", purpose: str = "events") -> None:
        self.table = table
        self.prefix = prefix
        self.ns = f"{prefix}_{purpose}"

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if stored_events:
            self._save(SaveRequest(plan_batches(stored_events)))
        return None

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        if limit is not None and limit < 1:
            return []
        lo = None if gt is None else gt + 1
        # Every item in the key range holds at least one wanted event, so `limit` items suffice.
        items = iter_range_items(
            self.table, events_pk(self.ns, originator_id), lo, lte, descending=desc, page_size=limit
        )
        results: list[StoredEvent] = []
        for item in items:
            events = decode_events(item.frame)
            for event in reversed(events) if desc else events:
                if (gt is None or event.originator_version > gt) and (
                    lte is None or event.originator_version <= lte
                ):
                    results.append(event)
                    if len(results) == limit:
                        return results
        return results

    # The save, as a template method: subclasses add actions and interpret their failures.

    def _save(self, request: SaveRequest) -> list[int]:
        """Run the save's transaction, retrying (bounded, with backoff) while only contention failed it."""
        for attempt in range(MAX_ATTEMPTS):
            actions = self._actions(request)
            if not actions:
                return []
            check_transaction(actions)
            try:
                self.table.transact(actions)
            except TransactionCancelled as cancelled:
                self._resolve(request, cancelled.reasons)
                backoff(attempt)
                continue
            return self._committed(request)
        raise give_up(MAX_ATTEMPTS)

    def _actions(self, request: SaveRequest) -> list[Item]:
        actions: list[Item] = []
        request.roles = []
        for batch in request.batches:
            actions += aggregate_actions(self.ns, batch)
            request.roles += ["head", "events"]
        return actions

    def _resolve(self, request: SaveRequest, reasons: Sequence[Mapping[str, Any]]) -> None:
        """Raise for a conflict or a failure; return when a retry may succeed."""
        heads = iter(request.batches)
        for role, reason in zip(request.roles, reasons, strict=False):
            batch = next(heads) if role == "head" else None
            code = reason.get("Code") or "None"
            if code == "ConditionalCheckFailed":
                self._condition_failed(role, reason.get("Item"), batch)
            elif code not in RETRYABLE_CODES and code != "None":
                raise OperationalError(
                    f"DynamoDB cancelled the save: {code} on {role}: {reason.get('Message')}"
                )

    def _condition_failed(self, role: str, item: Item | None, batch: AggregateBatch | None) -> None:
        if role == "head" and batch is not None:
            raise IntegrityError(
                f"Aggregate {batch.originator_id}: versions {batch.first}..{batch.last} conflict with "
                f"recorded version {read_num(item, HI)} (another writer saved first)"
            )
        raise OperationalError(f"Unexpected condition failure on {role}")

    def _committed(self, request: SaveRequest) -> list[int]:
        return []
