"""In-memory bus and notifier: the EventPublisher and Notifier ports without AWS."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from application.errors import RetryableError


class MemoryPublisher:
    def __init__(self) -> None:
        self.published: list[Mapping[str, Any]] = []
        self.fail_next = 0

    def publish(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise RetryableError("bus unavailable", system="bus", code="UNAVAILABLE")
        self.published.extend(envelopes)


class MemoryNotifier:
    def __init__(self) -> None:
        self.rooms: dict[str, list[Mapping[str, Any]]] = defaultdict(list)

    def notify(self, room: str, message: Mapping[str, Any]) -> int:
        self.rooms[room].append(message)
        return 1
