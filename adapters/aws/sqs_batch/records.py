"""Parsing one SQS record of a Lambda event into an SqsRecord (pure; property-tested).

A body is either an EventBridge event (what the bus rules deliver: `source`, `detail-type`, `id`,
`detail`) or a bare canonical envelope (a redriven or directly sent message). Canonical details are
validated by domain.envelope (schema version, required fields, sizes); Salesforce Event Relay events
keep their own envelope, the record under `detail.payload` (VENDORS.md §1.6). Anything else raises
MalformedRecord (or domain ValidationError) naming what is wrong: the consumer dead-letters it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from domain.errors import ValidationError

if TYPE_CHECKING:
    from domain.envelope import Envelope


def envelope_from_dict(document: Any) -> Envelope:
    """Validated lazily: the pydantic models cost ~60 ms of cold start, and Salesforce-only queues
    (whose records keep the Event Relay envelope) never need them."""
    from domain.envelope import envelope_from_dict as parse

    return parse(document)

MAX_BODY_BYTES = 256 * 1024  # what EventBridge can deliver; a larger body did not come from our bus
SALESFORCE_SOURCE_PREFIX = "aws.partner/salesforce.com"

# docs/bus-contract.md: the event names each of concord's own sources may carry.
_CONCORD_NAMES = {
    "concord.billing": frozenset({"AccountChanged", "SubscriptionChanged", "PaymentFailed",
                                  "PaymentProcessed"}),
    "concord.ops": frozenset({"DeadLettered"}),
}
_DOMAIN_EVENT = re.compile(r"^[A-Z][A-Za-z]*\.[A-Z][A-Za-z]*$")  # <Aggregate>.<Event>
_SALESFORCE_EVENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(ChangeEvent|__e)$")


class MalformedRecord(ValidationError):
    """The record cannot be processed as it is; `field` names the culprit."""


def known_event(source: str, event_name: str) -> bool:
    """The bus contract's names; gateway sources' names were already checked against their registration."""
    if source.startswith(SALESFORCE_SOURCE_PREFIX):
        return bool(_SALESFORCE_EVENT.match(event_name))
    if source == "concord.domain":
        return bool(_DOMAIN_EVENT.match(event_name))
    names = _CONCORD_NAMES.get(source)
    return True if names is None else event_name in names


@dataclass(frozen=True)
class RecordMeta:
    """What is known of a record before its body is trusted (enough to report or dead-letter it)."""

    message_id: str
    body: str
    source_queue: str
    receive_count: int


@dataclass(frozen=True)
class SqsRecord:
    message_id: str
    source_queue: str
    receive_count: int
    source: str
    detail_type: str
    event_id: str
    correlation_id: str
    detail: Mapping[str, Any]
    envelope: Envelope | None = None  # None for Salesforce relay events
    body: str = field(default="", repr=False)


def record_meta(raw: Any) -> RecordMeta:
    """Never raises: a record too broken to read still gets dead-lettered under what can be read."""
    raw = raw if isinstance(raw, Mapping) else {}
    attributes = raw.get("attributes") if isinstance(raw.get("attributes"), Mapping) else {}
    try:
        receive_count = int(attributes.get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        receive_count = 1
    arn = str(raw.get("eventSourceARN") or "")
    body = raw.get("body")
    return RecordMeta(message_id=str(raw.get("messageId") or ""), body=body if isinstance(body, str) else "",
                      source_queue=arn.rsplit(":", 1)[-1], receive_count=receive_count)


def parse_record(raw: Any, *, accept: Callable[[str, str], bool] = known_event,
                 max_body_bytes: int = MAX_BODY_BYTES) -> SqsRecord:
    meta = record_meta(raw)
    if not meta.message_id:
        raise MalformedRecord("messageId", "field required")
    size = len(meta.body.encode("utf-8"))
    if size > max_body_bytes:
        raise MalformedRecord("body", f"is {size} bytes; the limit is {max_body_bytes}")
    try:
        document = json.loads(meta.body)
    except ValueError as exc:
        raise MalformedRecord("body", "is not JSON") from exc
    if not isinstance(document, dict):
        raise MalformedRecord("body", "must be a JSON object")
    if "detail-type" in document:
        record = _from_eventbridge(meta, document)
    else:
        record = _record(meta, envelope_from_dict(document), document)
    if not accept(record.source, record.detail_type):
        raise MalformedRecord("detail-type",
                              f"unknown event name {record.detail_type!r} for {record.source!r}")
    return record


def _from_eventbridge(meta: RecordMeta, event: dict[str, Any]) -> SqsRecord:
    source, detail_type, detail = event.get("source"), event.get("detail-type"), event.get("detail")
    event_id = event.get("id")
    for name, value in (("source", source), ("detail-type", detail_type), ("id", event_id)):
        if not isinstance(value, str) or not value:
            raise MalformedRecord(name, "field required")
    if not isinstance(detail, dict):
        raise MalformedRecord("detail", "must be a JSON object")
    assert isinstance(source, str) and isinstance(detail_type, str) and isinstance(event_id, str)
    if source.startswith(SALESFORCE_SOURCE_PREFIX):
        if not isinstance(detail.get("payload"), dict):
            raise MalformedRecord("detail.payload", "field required (Event Relay puts the event there)")
        return SqsRecord(meta.message_id, meta.source_queue, meta.receive_count, source, detail_type,
                         event_id=event_id, correlation_id=event_id, detail=detail, body=meta.body)
    envelope = envelope_from_dict(detail)
    if (envelope.metadata.source, envelope.metadata.eventName) != (source, detail_type):
        raise MalformedRecord("metadata.eventName",
                              "source/eventName differ from the EventBridge source/detail-type")
    return _record(meta, envelope, detail)


def _record(meta: RecordMeta, envelope: Envelope, detail: dict[str, Any]) -> SqsRecord:
    metadata = envelope.metadata
    return SqsRecord(meta.message_id, meta.source_queue, meta.receive_count, metadata.source,
                     metadata.eventName, event_id=metadata.eventId, correlation_id=metadata.correlationId,
                     detail=detail, envelope=envelope, body=meta.body)
