"""The stack's SQS queues as an operator sees them: depths, draining, and the dead letters with reasons."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEPTH_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed"]


def is_dlq(logical_id: str) -> bool:
    return "DeadLetter" in logical_id or "Failure" in logical_id


def service_queues(queues: dict[str, str]) -> dict[str, str]:
    return {name: url for name, url in queues.items() if not is_dlq(name)}


def dead_letter_queues(queues: dict[str, str]) -> dict[str, str]:
    return {name: url for name, url in queues.items() if is_dlq(name)}


def shorten_visibility(sqs: Any, queues: dict[str, str], seconds: int) -> None:
    """The template's 180 s (6 x the function timeout) would make every killed batch wait three
    minutes; the CI run cannot. Messages then come back after `seconds` instead."""
    for url in service_queues(queues).values():
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(seconds)})


def depths(sqs: Any, queues: dict[str, str]) -> dict[str, int]:
    found = {}
    for name, url in queues.items():
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=DEPTH_ATTRIBUTES)["Attributes"]
        found[name] = sum(int(attributes.get(a, 0)) for a in DEPTH_ATTRIBUTES)
    return found


def drain(sqs: Any, queues: dict[str, str], *, idle: Callable[[], bool], timeout_s: float,
          quiet_s: float = 6.0, every_s: float = 2.0) -> float:
    """Wait until every service queue is empty (visible, in flight and delayed: 0) and the vendors have
    nothing left to send, and it stays so for `quiet_s` (the stream relay and the bus still carry what
    the last batches did). Returns the seconds waited; AssertionError with the depths on timeout."""
    started = time.monotonic()
    deadline, quiet_since = started + timeout_s, None
    watched = service_queues(queues)
    while True:
        current = depths(sqs, watched)
        if not any(current.values()) and idle():
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= quiet_s:
                return time.monotonic() - started
        else:
            quiet_since = None
        if time.monotonic() > deadline:
            raise AssertionError(f"queues not drained within {timeout_s:.0f} s: "
                                 f"{ {k: v for k, v in current.items() if v} }")
        time.sleep(every_s)


@dataclass(frozen=True)
class DeadLetter:
    queue: str
    message_id: str
    reason: str  # "" when the message carries none
    source_queue: str
    body: str


def dead_letters(sqs: Any, queues: dict[str, str]) -> list[DeadLetter]:
    """Every message of every DLQ, with the `reason` attribute concord's consumer puts on what it
    dead-letters (adapters/aws/sqs_batch/dead_letter.py). Read, never deleted: each received message
    stays invisible for a minute, so a second receive does not see it again."""
    found: list[DeadLetter] = []
    for name, url in dead_letter_queues(queues).items():
        empty_answers = 0
        while empty_answers < 2:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                         MessageAttributeNames=["All"], AttributeNames=["All"],
                                         WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                empty_answers += 1
                continue
            for message in messages:
                attributes = message.get("MessageAttributes") or {}
                reason = (attributes.get("reason") or {}).get("StringValue") or ""
                source = (attributes.get("sourceQueue") or {}).get("StringValue") or ""
                found.append(DeadLetter(name, message["MessageId"], reason.strip(), source, message["Body"]))
    return found
