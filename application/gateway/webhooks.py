"""`POST /webhooks/stripe` and `POST /webhooks/zuora`: billing triggers onto the bus (DESIGN §2.2).

Stripe: the signature is checked on the RAW body before anything is parsed (400 when wrong or stale);
a redelivered event (same `evt_` id) gets 200 again and publishes nothing.
Zuora: HTTP basic auth with concord's secret (401 otherwise); deduplicated on objectId + eventType +
eventTime. Zuora counts only HTTP 200 as delivered, so success is 200 for both.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Sequence
from typing import Any

from application.errors import IntegrationError
from application.gateway.billing_events import (
    parse_zuora_callout,
    stripe_event_to_envelope,
    zuora_callout_to_envelope,
    zuora_dedupe_key,
)
from application.gateway.events import error, publish_once, validation_error
from application.gateway.ports import (
    CalloutCredentials,
    EventIdempotency,
    Reply,
    SignatureRejected,
    StoredResponse,
    WebhookVerifier,
)
from application.ports import EventPublisher
from domain.errors import ValidationError


def handle_stripe_webhook(verifier: WebhookVerifier, idempotency: EventIdempotency, publisher: EventPublisher,
                          raw_body: bytes, signature_header: str | None) -> Reply:
    if not signature_header:
        return error(400, "signature", "missing Stripe-Signature header")
    try:
        verifier.verify(raw_body, signature_header)
    except SignatureRejected as exc:
        return error(400, "signature", str(exc) or "signature rejected")
    except IntegrationError:  # the signing secrets could not be read
        return error(503, "unavailable", "cannot check the signature now; retry")
    try:
        event = _json(raw_body)
        envelope = stripe_event_to_envelope(event)
    except ValidationError as exc:
        return validation_error(exc)
    if envelope is None:
        return 200, {"status": "ignored", "type": event.get("type")}
    accepted = StoredResponse(200, {"status": "accepted", "eventId": envelope.metadata.eventId})
    return publish_once(idempotency, publisher, f"stripe:{event['id']}", envelope, accepted)


def handle_zuora_callout(credentials: CalloutCredentials, idempotency: EventIdempotency,
                         publisher: EventPublisher, raw_body: bytes, authorization: str | None) -> Reply:
    try:
        allowed = credentials.credentials()
    except IntegrationError:
        return error(503, "unavailable", "cannot check the credentials now; retry")
    if not basic_auth_matches(authorization, allowed):
        return error(401, "unauthorized", "basic authentication required")
    try:
        callout = parse_zuora_callout(_json(raw_body))
        envelope = zuora_callout_to_envelope(callout)
    except ValidationError as exc:
        return validation_error(exc)
    accepted = StoredResponse(200, {"status": "accepted", "eventId": envelope.metadata.eventId})
    return publish_once(idempotency, publisher, f"zuora:{zuora_dedupe_key(callout)}", envelope, accepted)


def basic_auth_matches(header: str | None, allowed: Sequence[tuple[str, str]]) -> bool:
    """Compare in constant time against every allowed pair (two during a rotation)."""
    presented = _basic_pair(header)
    if presented is None:
        return False
    matched = False
    for user, password in allowed:
        # Both comparisons always run, so timing does not tell which half was wrong.
        same_user = hmac.compare_digest(presented[0].encode(), user.encode())
        same_password = hmac.compare_digest(presented[1].encode(), password.encode())
        matched |= same_user and same_password
    return matched


def _basic_pair(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def _json(raw_body: bytes) -> Any:
    try:
        return json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("body", f"is not valid JSON: {exc}") from exc
