"""Tracking and process recorders: a downstream application's position in each upstream log."""

from __future__ import annotations

from eventsourcing.persistence import IntegrityError, ProcessRecorder, Tracking, TrackingRecorder

from .application import DynamoDBApplicationRecorder
from .items import Item, N, key, read_num, tracking_pk
from .save import AggregateBatch, SaveRequest, tracking_update
from .table import ConditionFailed, DynamoDBTable


class DynamoDBTrackingRecorder(TrackingRecorder):
    """One item per upstream application, holding the highest notification id processed.

    Positions only go up: recording one at or below the recorded one is an IntegrityError (as in
    the library's single-row tracking), which is what makes processing exactly-once.
    """

    def __init__(self, table: DynamoDBTable, prefix: str = "stored", purpose: str = "events") -> None:
        self.table = table
        self.tracking_ns = f"{prefix}_tracking"

    def insert_tracking(self, tracking: Tracking) -> None:
        try:
            self.table.update(**tracking_update(self._tracking_pk(tracking.application_name), tracking))
        except ConditionFailed as exc:
            raise _tracking_conflict(tracking) from exc

    def max_tracking_id(self, application_name: str) -> int | None:
        return read_num(self.table.get(key(self._tracking_pk(application_name))), N)

    def _tracking_pk(self, application_name: str) -> str:
        return tracking_pk(self.tracking_ns, application_name)


class DynamoDBProcessRecorder(DynamoDBTrackingRecorder, DynamoDBApplicationRecorder, ProcessRecorder):
    """Records a process's new events and its tracking position in one transaction."""

    def __init__(self, table: DynamoDBTable, prefix: str = "stored", purpose: str = "events") -> None:
        DynamoDBApplicationRecorder.__init__(self, table, prefix, purpose)
        DynamoDBTrackingRecorder.__init__(self, table, prefix, purpose)

    def _actions(self, request: SaveRequest) -> list[Item]:
        actions = super()._actions(request)
        if request.tracking is not None:
            update = tracking_update(self._tracking_pk(request.tracking.application_name), request.tracking)
            actions.append({"Update": update})
            request.roles.append("tracking")
        return actions

    def _condition_failed(self, role: str, item: Item | None, batch: AggregateBatch | None) -> None:
        if role == "tracking":
            raise IntegrityError("Tracking position already recorded (or passed)")
        super()._condition_failed(role, item, batch)


def _tracking_conflict(tracking: Tracking) -> IntegrityError:
    return IntegrityError(
        f"Tracking {tracking.application_name}#{tracking.notification_id} is not beyond the recorded position"
    )
