"""process_batch: Lambda's SQS partial batch response (ReportBatchItemFailures), one record at a time.

Per record:
    handled                                   -> done
    RetryableError                            -> batchItemFailures (back to the queue, retried later)
    PermanentError, domain errors, pydantic
    ValidationError, a malformed record       -> DLQ with its reason, NOT a failure (never retried)
    any other exception                       -> retried until ApproximateReceiveCount reaches
                                                 max_receives, then DLQ with its reason
On the last receive a retryable failure is dead-lettered with its reason too, rather than left to the
queue's redrive, which would move it to the same DLQ without one. If the DLQ itself cannot be reached
the record is reported as a failure: it stays in the queue, it is never dropped.

Every dead-lettering logs one alert line that a CloudWatch Logs metric filter matches:
    { ($.level = "ERROR") && ($.alert = "dead_letter") }
and publishes a `concord.ops DeadLettered` event through `alerts` (best effort: a failure to publish is
logged, never raised, since the message itself is already safe in the DLQ).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from adapters.aws.sqs_batch.dead_letter import DeadLetterSink, dead_letter_envelope
from adapters.aws.sqs_batch.records import (
    MAX_BODY_BYTES,
    RecordMeta,
    SqsRecord,
    known_event,
    parse_record,
    record_meta,
)
from adapters.logging import correlation
from application.errors import IntegrationError, PermanentError, RetryableError
from application.ports import EventPublisher
from domain.errors import DomainError

logger = logging.getLogger("concord.sqs")

_PERMANENT = (PermanentError, DomainError, PydanticValidationError)


@dataclass(frozen=True)
class _Batch:
    handle_record: Callable[[SqsRecord], None]
    dlq: DeadLetterSink
    alerts: EventPublisher | None
    max_receives: int
    accept: Callable[[str, str], bool]
    max_body_bytes: int
    now: Callable[[], datetime]


def process_batch(event: Mapping[str, Any], handle_record: Callable[[SqsRecord], None], *,
                  dlq: DeadLetterSink, max_receives: int = 5, alerts: EventPublisher | None = None,
                  accept: Callable[[str, str], bool] = known_event, max_body_bytes: int = MAX_BODY_BYTES,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, list[dict[str, str]]]:
    batch = _Batch(handle_record, dlq, alerts, max_receives, accept, max_body_bytes, now)
    records = event.get("Records") if isinstance(event, Mapping) else None
    failures = []
    for raw in records if isinstance(records, list) else []:
        meta = record_meta(raw)
        with correlation(meta.message_id):
            if not _process(batch, raw, meta):
                failures.append({"itemIdentifier": meta.message_id})
    return {"batchItemFailures": failures}


def _process(batch: _Batch, raw: Any, meta: RecordMeta) -> bool:
    """True when the record is finished with (handled or dead-lettered); False to leave it in the queue."""
    try:
        record = parse_record(raw, accept=batch.accept, max_body_bytes=batch.max_body_bytes)
    except DomainError as exc:
        return _dead_letter(batch, meta, f"malformed record: {exc}", correlation_id="")
    with correlation(record.correlation_id):
        try:
            batch.handle_record(record)
            return True
        except RetryableError as exc:
            return _retry_or_give_up(batch, meta, record, exc)
        except _PERMANENT as exc:
            return _dead_letter(batch, meta, _reason(exc), record.correlation_id)
        except Exception as exc:  # unexpected: retried a bounded number of times, never forever
            logger.exception("unexpected failure handling a record", extra={"message_id": meta.message_id})
            return _retry_or_give_up(batch, meta, record, exc)


def _retry_or_give_up(batch: _Batch, meta: RecordMeta, record: SqsRecord, exc: Exception) -> bool:
    if meta.receive_count >= batch.max_receives:
        reason = f"gave up after {meta.receive_count} receives: {_reason(exc)}"
        return _dead_letter(batch, meta, reason, record.correlation_id)
    logger.warning("record will be retried", extra={"message_id": meta.message_id, "error": _reason(exc),
                                                    "receive_count": meta.receive_count})
    return False


def _dead_letter(batch: _Batch, meta: RecordMeta, reason: str, correlation_id: str) -> bool:
    try:
        batch.dlq.send(meta.body, reason, meta.source_queue, meta.message_id, correlation_id)
    except Exception as exc:  # DLQ unreachable: leave the message in its queue rather than lose it
        logger.error("could not dead-letter a record; it stays in its queue",
                     extra={"message_id": meta.message_id, "error": _reason(exc)})
        return False
    logger.error("message dead-lettered", extra={
        "alert": "dead_letter", "queue": meta.source_queue, "reason": reason, "message_id": meta.message_id,
        "correlation_id": correlation_id, "receive_count": meta.receive_count})
    _publish_alert(batch, meta, reason, correlation_id)
    return True


def _publish_alert(batch: _Batch, meta: RecordMeta, reason: str, correlation_id: str) -> None:
    if batch.alerts is None:
        return
    try:
        envelope = dead_letter_envelope(queue=meta.source_queue, reason=reason, message_id=meta.message_id,
                                        body=meta.body, correlation_id=correlation_id or meta.message_id,
                                        occurred_at=batch.now())
        batch.alerts.publish([envelope])
    except Exception as exc:  # best effort: the message is already safe in the DLQ
        logger.warning("dead-letter alert not published", extra={"message_id": meta.message_id,
                                                                 "error": _reason(exc)})


def _reason(exc: BaseException) -> str:
    if isinstance(exc, IntegrationError):
        code = f" [{exc.code}]" if exc.code else ""
        return f"{type(exc).__name__}{code}: {exc.message}"
    if isinstance(exc, PydanticValidationError):
        first = exc.errors(include_url=False)[0] if exc.errors() else {"loc": (), "msg": str(exc)}
        return f"ValidationError: {'.'.join(map(str, first['loc'])) or 'body'}: {first['msg']}"
    return f"{type(exc).__name__}: {exc}"
