"""Outbox relay: the events table's DynamoDB stream -> PutEvents on concord's bus.

A batch that cannot be published is reported from its first unpublished record
(`batchItemFailures` with the stream sequence number), so nothing is skipped and nothing
published twice needlessly; the function's on-failure destination catches what never gets through.
"""

from __future__ import annotations

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
    from adapters.aws.outbox import envelopes_of, log_frames
    from application.errors import IntegrationError

    built = container()
    mapper, publisher = built.app().mapper, built.publisher()
    published = 0
    for frame in log_frames(event):
        try:
            envelopes = envelopes_of(frame, mapper, _crm_id_of)
            publisher.publish(envelopes)
        except IntegrationError:
            return {"batchItemFailures": [{"itemIdentifier": frame.sequence_number}]}
        published += len(envelopes)
    return {"batchItemFailures": [], "published": published}
