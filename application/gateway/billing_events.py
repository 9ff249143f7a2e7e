"""Stripe events and Zuora callouts, normalised to `concord.billing` envelopes (docs/bus-contract.md).

Pure functions. Both vendors' messages are triggers (DESIGN §3): the envelope says which object
changed; the consumer fetches its current state. Ids are derived from the vendor's event, so a
redelivered event gives the same envelope, byte for byte.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from domain.envelope import Envelope, new_envelope
from domain.errors import ValidationError

BILLING_SOURCE = "concord.billing"
_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-5b8a-9c47-2f0e8d1b6a90")

# Stripe event type -> (eventName, objectType). Types not listed are acknowledged and ignored.
STRIPE_EVENTS: dict[str, tuple[str, str]] = {
    "customer.created": ("AccountChanged", "account"),
    "customer.updated": ("AccountChanged", "account"),
    "customer.deleted": ("AccountChanged", "account"),
    "customer.subscription.created": ("SubscriptionChanged", "subscription"),
    "customer.subscription.updated": ("SubscriptionChanged", "subscription"),
    "customer.subscription.deleted": ("SubscriptionChanged", "subscription"),
    "customer.subscription.paused": ("SubscriptionChanged", "subscription"),
    "customer.subscription.resumed": ("SubscriptionChanged", "subscription"),
    # invoice.paid, not invoice.payment_succeeded too: both fire for one payment.
    "invoice.paid": ("PaymentProcessed", "payment"),
    "invoice.payment_failed": ("PaymentFailed", "payment"),
}

# The callout body concord documents (docs/zuora-callout.md): eventType -> (eventName, objectType).
ZUORA_EVENTS: dict[str, tuple[str, str]] = {
    "SubscriptionCreated": ("SubscriptionChanged", "subscription"),
    "SubscriptionCancelled": ("SubscriptionChanged", "subscription"),
    "SubscriptionSuspended": ("SubscriptionChanged", "subscription"),
    "SubscriptionResumed": ("SubscriptionChanged", "subscription"),
    "AccountUpdated": ("AccountChanged", "account"),
    "PaymentProcessed": ("PaymentProcessed", "payment"),
    "PaymentFailed": ("PaymentFailed", "payment"),
}

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class ZuoraCallout(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    eventType: Literal[  # the wire names are concord's documented contract
        "SubscriptionCreated", "SubscriptionCancelled", "SubscriptionSuspended", "SubscriptionResumed",
        "AccountUpdated", "PaymentProcessed", "PaymentFailed"]
    objectType: Literal["subscription", "account", "payment"]
    objectId: Text
    accountId: Text
    accountNumber: Text
    eventTime: Text


def stripe_event_to_envelope(event: Any) -> Envelope | None:
    """The envelope for a Stripe event, None for a type concord does not follow."""
    if not isinstance(event, dict):
        raise ValidationError("body", "must be a JSON object")
    event_id = _text(event, "id", "id")
    kind = _text(event, "type", "type")
    if kind not in STRIPE_EVENTS:
        return None
    created = event.get("created")
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise ValidationError("created", "must be a unix timestamp")
    data = event.get("data")
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        raise ValidationError("data.object", "field required")
    event_name, object_type = STRIPE_EVENTS[kind]
    object_id = _text(obj, "id", "data.object.id")
    account_id = object_id if object_type == "account" else _text(obj, "customer", "data.object.customer")
    return _billing_envelope(event_name, f"stripe:{event_id}", datetime.fromtimestamp(created, UTC), {
        "vendor": "stripe", "objectType": object_type, "objectId": object_id, "accountId": account_id,
        "vendorEventId": event_id})


def parse_zuora_callout(document: Any) -> ZuoraCallout:
    if not isinstance(document, dict):
        raise ValidationError("body", "must be a JSON object")
    try:
        callout = ZuoraCallout.model_validate(document)
    except PydanticValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        message = "field required" if first["type"] == "missing" else str(first["msg"])
        raise ValidationError(field, message) from exc
    expected = ZUORA_EVENTS[callout.eventType][1]
    if callout.objectType != expected:
        raise ValidationError("objectType",
                              f"{callout.eventType} is about a {expected}, not {callout.objectType}")
    return callout


def zuora_dedupe_key(callout: ZuoraCallout) -> str:
    """Zuora-Request-Id changes on every retry, so the object, the event and its time identify it."""
    return f"{callout.objectId}:{callout.eventType}:{callout.eventTime}"


def zuora_callout_to_envelope(callout: ZuoraCallout) -> Envelope:
    event_name, object_type = ZUORA_EVENTS[callout.eventType]
    vendor_event_id = zuora_dedupe_key(callout)
    return _billing_envelope(event_name, f"zuora:{vendor_event_id}", _zuora_time(callout.eventTime), {
        "vendor": "zuora", "objectType": object_type, "objectId": callout.objectId,
        "accountId": callout.accountId, "accountNumber": callout.accountNumber,
        "vendorEventId": vendor_event_id})


def _billing_envelope(event_name: str, seed: str, occurred_at: datetime, data: dict[str, Any]) -> Envelope:
    return new_envelope(
        source=BILLING_SOURCE, event_name=event_name, event_id=str(uuid.uuid5(_NAMESPACE, seed)),
        correlation_id=str(uuid.uuid5(_NAMESPACE, f"correlation:{seed}")), occurred_at=occurred_at, data=data)


def _zuora_time(text: str) -> datetime:
    """ISO 8601. A time without an offset is read as UTC: it only orders logs, it is not a position."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError("eventTime", f"is not an ISO 8601 time: {text!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(mapping: dict[str, Any], key: str, field: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "field required" if value is None else "must be a non-empty string")
    if len(value) > 255:
        raise ValidationError(field, "is longer than 255 characters")
    return value
