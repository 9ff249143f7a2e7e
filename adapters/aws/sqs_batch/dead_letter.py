"""Dead-lettering WITH a reason: SendMessage to the queue's DLQ, and the `concord.ops DeadLettered` alert.

The queue's own redrive (maxReceiveCount 5) would move a message to the same DLQ, but without saying
why; sending it ourselves adds the message attributes `reason`, `sourceQueue`, `originalMessageId` and
`correlationId`, which `concord dlq show` prints and a redrive carries along.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Protocol

from adapters.aws.lease import AwsFailure, aws_error
from domain.envelope import new_envelope

MAX_REASON_CHARS = 1024
MAX_ALERT_BODY_CHARS = 32 * 1024  # the alert is itself an event (< 256 KB); the DLQ keeps the whole body
_NAMESPACE = uuid.UUID("6f1c3c52-1f0e-4b7e-9a53-0d6b0c1d2e3f")
_PRINTABLE_ID = re.compile(r"^[\x21-\x7e]{1,256}$")


class DeadLetterSink(Protocol):
    def send(self, body: str, reason: str, source_queue: str, message_id: str,
             correlation_id: str) -> None: ...


class SqsDeadLetterSink:
    """Sends to one DLQ (CONCORD_DLQ_URL: the consuming function's own queue's DLQ)."""

    def __init__(self, sqs_client: Any, queue_url: str) -> None:
        self._sqs = sqs_client
        self._queue_url = queue_url

    def send(self, body: str, reason: str, source_queue: str, message_id: str, correlation_id: str) -> None:
        values = {"reason": reason[:MAX_REASON_CHARS], "sourceQueue": source_queue,
                  "originalMessageId": message_id, "correlationId": correlation_id}
        # SQS refuses an empty attribute value.
        attributes = {name: {"DataType": "String", "StringValue": value or "unknown"}
                      for name, value in values.items()}
        try:
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=body or "<empty body>",
                                   MessageAttributes=attributes)
        except AwsFailure as exc:
            raise aws_error(exc, system="sqs", action="SendMessage to the DLQ") from exc


def dead_letter_envelope(*, queue: str, reason: str, message_id: str, body: str, correlation_id: str,
                         occurred_at: datetime) -> dict[str, Any]:
    """The `concord.ops DeadLettered` envelope (docs/bus-contract.md); its eventId is stable per message."""
    event_id = str(uuid.uuid5(_NAMESPACE, f"{queue}/{message_id}"))
    envelope = new_envelope(
        source="concord.ops", event_name="DeadLettered", event_id=event_id,
        correlation_id=correlation_id if _PRINTABLE_ID.match(correlation_id) else event_id,
        occurred_at=occurred_at,
        data={"queue": queue, "reason": reason[:MAX_REASON_CHARS], "messageId": message_id,
              "body": body[:MAX_ALERT_BODY_CHARS], "bodyTruncated": len(body) > MAX_ALERT_BODY_CHARS},
    )
    return envelope.to_detail()
