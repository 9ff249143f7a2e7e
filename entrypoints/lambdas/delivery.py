"""The delivery function: the `delivery` queue (bus rule) -> signed POSTs to subscribed destinations.

SQS partial batch response: a retryable failure returns the message to the queue (destinations already
served are skipped next time, by the ledger); a permanent one goes to the DLQ with its reason.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.sqs_batch import SqsDeadLetterSink, SqsRecord, process_batch
from application.errors import PermanentError
from entrypoints.lambdas import _wiring_gateway as wiring


def handle_record(record: SqsRecord) -> None:
    if record.envelope is None:  # Salesforce relay events are not delivered outbound
        raise PermanentError(f"{record.source} {record.detail_type} is not a canonical envelope",
                             system="delivery", code="NOT_DELIVERABLE")
    wiring.deliverer().deliver(record.envelope)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    dlq = SqsDeadLetterSink(wiring._clients()["sqs"], wiring.dlq_url())
    return process_batch(event, handle_record, dlq=dlq, alerts=wiring.publisher())
