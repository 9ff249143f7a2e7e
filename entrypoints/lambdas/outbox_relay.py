"""Outbox relay: the events table's DynamoDB stream -> PutEvents on concord's bus.

A batch that cannot be published is reported from its first unpublished record
(`batchItemFailures` with the stream sequence number), so nothing is skipped and nothing
published twice needlessly; the function's on-failure destination catches what never gets through.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from entrypoints.lambdas._runtime import container

_crm_ids: dict[UUID, str | None] = {}


def _crm_id_of(aggregate_id: UUID) -> str | None:
    """The CRM id of an aggregate whose event does not carry it (cached per instance)."""
    if aggregate_id not in _crm_ids:
        try:
            _crm_ids[aggregate_id] = getattr(container().app().repository.get(aggregate_id), "crm_id", None)
        except Exception:  # an aggregate that cannot be read leaves crmId empty, never blocks the relay
            _crm_ids[aggregate_id] = None
    return _crm_ids[aggregate_id]


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from application.errors import IntegrationError

    built = container()
    frames, unreadable = _frames(event, built.app().mapper)
    published = 0
    for first, envelopes in _packed(frames):
        try:
            built.publisher().publish(envelopes)
        except IntegrationError:
            return {"batchItemFailures": [{"itemIdentifier": first}]}
        published += len(envelopes)
    failures = [{"itemIdentifier": unreadable}] if unreadable else []
    return {"batchItemFailures": failures, "published": published}


def _frames(event: dict[str, Any], mapper: Any) -> tuple[list[tuple[str, list[dict[str, Any]]]], str | None]:
    """(sequence number, envelopes) per log frame, up to the first frame that cannot be mapped (returned)."""
    from adapters.aws.outbox import envelopes_of, log_frames
    from application.errors import IntegrationError

    frames = []
    for frame in log_frames(event):
        try:
            frames.append((frame.sequence_number, envelopes_of(frame, mapper, _crm_id_of)))
        except IntegrationError:
            return frames, frame.sequence_number
    return frames, None


def _packed(frames: list[tuple[str, list[dict[str, Any]]]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Whole frames packed into groups of at most one PutEvents (10 entries), each with its first frame's
    sequence number. Why: one PutEvents per frame cost a call per save (4.5 entries on average,
    benchmarks/aws_requests.py); packing amortises the calls over the stream batch, and keeping frames
    whole means a failed group is retried from its first frame without republishing an earlier one."""
    from adapters.aws.eventbridge import MAX_ENTRIES

    first, pending = "", []
    for sequence_number, envelopes in frames:
        if pending and len(pending) + len(envelopes) > MAX_ENTRIES:
            yield first, pending
            first, pending = "", []
        first = first or sequence_number
        pending += envelopes
    if pending:
        yield first, pending
