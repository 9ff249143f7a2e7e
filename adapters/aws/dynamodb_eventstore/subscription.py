"""Subscriptions by polling: DynamoDB has no LISTEN/NOTIFY, and the Streams feed is for the outbox relay."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eventsourcing.persistence import ListenNotifySubscription

if TYPE_CHECKING:
    from .application import DynamoDBApplicationRecorder


class DynamoDBSubscription(ListenNotifySubscription["DynamoDBApplicationRecorder"]):
    """Wakes the library's pull loop on every save made through this recorder (same process) and,
    for saves made elsewhere, every `recorder.poll_interval` seconds."""

    def __init__(
        self, recorder: DynamoDBApplicationRecorder, gt: int | None = None, topics: Sequence[str] = ()
    ) -> None:
        self._stopped = threading.Event()
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        recorder.listen(self._has_been_notified)
        self._ticker = threading.Thread(target=self._tick, args=(recorder.poll_interval,), daemon=True)
        self._ticker.start()

    def _tick(self, interval: float) -> None:
        while not self._stopped.wait(interval):
            self._has_been_notified.set()

    def stop(self) -> None:
        self._stopped.set()
        self._recorder.unlisten(self._has_been_notified)
        super().stop()
