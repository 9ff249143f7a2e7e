"""The transactional outbox, read side: the events table's stream -> canonical envelopes (DESIGN §2.4).

The event store writes each save's notifications as ONE log item (`<app>_events#log`, see
EVENTSTORE.md) in the same transaction as the events, so the stream carries every domain event
exactly once per save, in notification-id order: no dual write. Envelope ids are derived from
(aggregate id, version), so a re-delivered stream record publishes events consumers already know.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from adapters.aws.dynamodb_eventstore.codec import decode_events

SOURCE = "concord.domain"
SKIPPED = frozenset({"CorrelationClaim"})  # uniqueness bookkeeping, nobody's business on the bus


@dataclass(frozen=True)
class LogFrame:
    sequence_number: str
    frame: bytes


def log_frames(stream_event: Mapping[str, Any]) -> Iterator[LogFrame]:
    """The notification-log items inserted in a DynamoDB Streams batch (other items are not events)."""
    for record in stream_event.get("Records") or []:
        dynamodb = record.get("dynamodb") or {}
        image = dynamodb.get("NewImage") or {}
        pk = (image.get("pk") or {}).get("S", "")
        if record.get("eventName") != "INSERT" or not pk.endswith("#log"):
            continue
        raw = (image.get("ev") or {}).get("B", b"")
        frame = base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)
        yield LogFrame(str(dynamodb.get("SequenceNumber", "")), frame)


def event_name(topic: str, state: Mapping[str, Any]) -> str | None:
    """`Account.DetailsChanged`; the shared Synced/SyncFailed events are named by their `entity`."""
    qualname = topic.split(":", 1)[-1]
    aggregate, _, name = qualname.rpartition(".")
    if aggregate == "SyncedAggregate":
        aggregate = str(state.get("entity") or aggregate)
    return None if aggregate in SKIPPED else f"{aggregate}.{name}"


def envelope(domain_event: Any, topic: str, crm_id_of: Callable[[UUID], str | None]) -> dict[str, Any] | None:
    state = {k: v for k, v in vars(domain_event).items() if k not in ("originator_id", "originator_version")}
    name = event_name(topic, state)
    if name is None:
        return None
    aggregate_id: UUID = domain_event.originator_id
    version: int = domain_event.originator_version
    timestamp = state.pop("timestamp", None) or datetime.now(UTC)
    correlation_id = str(state.get("correlation_id") or aggregate_id)
    data = {"aggregateId": str(aggregate_id), "aggregateType": name.split(".", 1)[0], "version": version,
            "timestamp": timestamp.isoformat() if isinstance(timestamp, datetime) else str(timestamp),
            "crmId": state.get("crm_id") or crm_id_of(aggregate_id),
            "state": json.loads(json.dumps(state, default=str))}
    return {"metadata": {"source": SOURCE, "eventName": name, "eventSchemaVersion": "1",
                         "eventId": str(uuid5(NAMESPACE_URL, f"concord:{aggregate_id}:{version}")),
                         "correlationId": correlation_id, "occurredAt": data["timestamp"]},
            "data": data}


def envelopes_of(frame: LogFrame, mapper: Any, crm_id_of: Callable[[UUID], str | None]) -> list[dict[str, Any]]:
    found = []
    for stored in decode_events(frame.frame):
        built = envelope(mapper.to_domain_event(stored), stored.topic, crm_id_of)
        if built is not None:
            found.append(built)
    return found
