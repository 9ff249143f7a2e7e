"""`POST /events`: a registered source publishes a canonical envelope (DESIGN §2.3, §4).

    401  no key, or a key no source has
    400  the body is not a valid envelope (the field is named)
    403  the key's source may not publish this `source` or `eventName`
    202  the event is on the bus; a repeated eventId gets the first answer again, publishing nothing
    409  the same eventId is being published by another request right now (retry later)
    503  the bus (or the idempotency table) did not accept it: nothing is marked done, retry
    500  the bus refused it for good (a permanent error of ours): nothing is marked done
"""

from __future__ import annotations

import hashlib
import logging

from application.errors import IntegrationError, RetryableError
from application.gateway.ports import (
    EventIdempotency,
    IdempotencyInProgress,
    Reply,
    SourceRegistry,
    StoredResponse,
)
from application.ports import EventPublisher
from domain.envelope import Envelope, parse_envelope
from domain.errors import ValidationError

log = logging.getLogger(__name__)


def hash_key(api_key: str) -> str:
    """Keys are random 256-bit tokens, so an unsalted SHA-256 is enough to store them safely."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def error(status: int, kind: str, message: str, field: str | None = None) -> Reply:
    body: dict[str, object] = {"error": kind, "message": message}
    if field is not None:
        body["field"] = field
    return status, body


def validation_error(exc: ValidationError) -> Reply:
    return error(400, "validation", exc.message, exc.field)


def publish_event(sources: SourceRegistry, idempotency: EventIdempotency, publisher: EventPublisher,
                  api_key: str | None, raw_body: bytes) -> Reply:
    if not api_key:
        return error(401, "unauthorized", "missing x-api-key header")
    try:
        source = sources.find_by_key_hash(hash_key(api_key))
    except IntegrationError:
        log.exception("sources table unavailable")
        return error(503, "unavailable", "cannot check the API key now; retry")
    if source is None:
        return error(401, "unauthorized", "unknown API key")
    try:
        envelope = parse_envelope(raw_body)
    except ValidationError as exc:
        return validation_error(exc)
    metadata = envelope.metadata
    if metadata.source != source.source:
        return error(403, "forbidden", f"this key may publish only source {source.source!r}",
                     "metadata.source")
    if metadata.eventName not in source.event_names:
        return error(403, "forbidden", f"this key may not publish {metadata.eventName!r}",
                     "metadata.eventName")
    accepted = StoredResponse(202, {"status": "accepted", "eventId": metadata.eventId})
    return publish_once(idempotency, publisher, f"events:{source.id}:{metadata.eventId}", envelope, accepted)


def publish_once(idempotency: EventIdempotency, publisher: EventPublisher, key: str, envelope: Envelope,
                 accepted: StoredResponse) -> Reply:
    """Publish unless `key` was already accepted; answer `accepted` only once the bus took it."""
    try:
        stored = idempotency.begin(key)
    except IdempotencyInProgress:
        return error(409, "in_progress", "this event is being accepted by another request; retry later")
    except IntegrationError:
        log.exception("idempotency table unavailable")
        return error(503, "unavailable", "event not accepted; retry")
    if stored is not None:
        return stored.reply()
    failure = _publish(idempotency, publisher, key, envelope)
    if failure is not None:
        return failure
    try:
        idempotency.complete(key, accepted)
    except IntegrationError:
        # The event IS on the bus, so the answer is still true. The marker expires and a retry after
        # that publishes again: a duplicate, which consumers absorb by eventId (at-least-once).
        log.exception("could not record %s as accepted", key)
    return accepted.reply()


def _publish(idempotency: EventIdempotency, publisher: EventPublisher, key: str,
             envelope: Envelope) -> Reply | None:
    """None once the bus has the event; otherwise the error answer, with the claim released."""
    try:
        publisher.publish([envelope.to_detail()])
    except BaseException as exc:
        # Not on the bus: the marker must go, or every retry would be told "in progress" (or worse, done).
        _release_quietly(idempotency, key)
        if isinstance(exc, RetryableError):
            log.warning("publish failed for %s: %s", key, exc)
            return error(503, "unavailable", "event not accepted; retry")
        if isinstance(exc, IntegrationError):  # the bus refused it for good (e.g. our permissions)
            log.error("publish refused for %s: %s", key, exc)
            return error(500, "not_accepted", "event not accepted")
        raise
    return None


def _release_quietly(idempotency: EventIdempotency, key: str) -> None:
    try:
        idempotency.release(key)
    except IntegrationError:
        # The marker then blocks retries only until its in-progress lifetime ends.
        log.exception("could not release %s", key)
