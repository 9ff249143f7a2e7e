"""An at-least-once queue as SQS behaves for a Lambda event source, on a logical clock (no sleeps).

    receive  -> up to 10 visible messages, picked at random (standard queues do not keep order);
                each becomes invisible for the visibility timeout and its receive count goes up
    finish   -> the batch's answer (process_batch's batchItemFailures): the others are deleted;
                a failed one becomes visible again after a backoff that grows with its receive count
    a crash  -> nothing is deleted: the whole batch comes back once its visibility timeout passes

Dead-lettering is the consumer's (adapters.aws.sqs_batch), through `DeadLetters`, with a reason.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from dataclasses import dataclass, field
from typing import Any

VISIBILITY_S = 30.0
BACKOFF_S = 5.0


class LogicalClock:
    """Seconds since the run began; only the harness moves it, so a 'wait' costs nothing."""

    def __init__(self) -> None:
        self.now = 0.0

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Message:
    message_id: str
    body: str
    receive_count: int = 0
    visible_at: float = 0.0


@dataclass
class DeadLetter:
    body: str
    reason: str
    source_queue: str
    message_id: str
    correlation_id: str


@dataclass
class DeadLetters:
    """The DeadLetterSink of the consumer: every message it gives up on, with its reason."""

    letters: list[DeadLetter] = field(default_factory=list)

    def send(self, body: str, reason: str, source_queue: str, message_id: str, correlation_id: str) -> None:
        self.letters.append(DeadLetter(body, reason, source_queue, message_id, correlation_id))


class SimQueue:
    def __init__(self, name: str, clock: LogicalClock, rng: random.Random) -> None:
        self.name, self.clock, self.rng = name, clock, rng
        self.arn = f"arn:aws:sqs:us-east-1:000000000000:concord-chaos-{name}"
        self._messages: dict[str, Message] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.stats = {"sent": 0, "received": 0, "redelivered": 0, "retried": 0, "crashed_batches": 0}

    def send(self, body: dict[str, Any] | str) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        with self._lock:
            message_id = f"{self.name}-{next(self._ids)}"
            self._messages[message_id] = Message(message_id, text, visible_at=self.clock.now)
            self.stats["sent"] += 1
        return message_id

    def receive(self, limit: int = 10) -> list[Message]:
        with self._lock:
            visible = [m for m in self._messages.values() if m.visible_at <= self.clock.now]
            batch = self.rng.sample(visible, min(limit, len(visible)))
            for message in batch:
                message.receive_count += 1
                message.visible_at = self.clock.now + VISIBILITY_S
                self.stats["received"] += 1
                self.stats["redelivered"] += message.receive_count > 1
            return batch

    def finish(self, batch: list[Message], failed_ids: set[str]) -> None:
        with self._lock:
            for message in batch:
                if message.message_id not in failed_ids:
                    self._messages.pop(message.message_id, None)
                    continue
                self.stats["retried"] += 1
                jitter = self.rng.uniform(0.5, 1.5)
                message.visible_at = self.clock.now + BACKOFF_S * 2 ** (message.receive_count - 1) * jitter

    def crashed(self) -> None:
        """The worker died mid-batch: its messages reappear when their visibility timeout ends."""
        with self._lock:
            self.stats["crashed_batches"] += 1

    def lambda_event(self, batch: list[Message]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m.message_id,
                    "body": m.body,
                    "eventSourceARN": self.arn,
                    "attributes": {"ApproximateReceiveCount": str(m.receive_count)},
                }
                for m in batch
            ]
        }

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)

    def next_visible_at(self) -> float | None:
        with self._lock:
            return min((m.visible_at for m in self._messages.values()), default=None)
