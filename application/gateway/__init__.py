"""The event gateway (DESIGN §2.2-§2.3, §4): HTTP-only systems and billing webhooks onto the bus.

`EventGateway` bundles the ports once (per cold start) and exposes the three use cases; each answers
(HTTP status, JSON body) and never 2xx unless the event is durably on the bus.
"""

from __future__ import annotations

from dataclasses import dataclass

from application.gateway.events import hash_key, publish_event
from application.gateway.ports import (
    CalloutCredentials,
    EventIdempotency,
    IdempotencyInProgress,
    Reply,
    SignatureRejected,
    Source,
    SourceAdmin,
    SourceRegistry,
    StoredResponse,
    WebhookVerifier,
)
from application.gateway.webhooks import handle_stripe_webhook, handle_zuora_callout
from application.ports import EventPublisher

__all__ = [
    "CalloutCredentials",
    "EventGateway",
    "EventIdempotency",
    "IdempotencyInProgress",
    "Reply",
    "SignatureRejected",
    "Source",
    "SourceAdmin",
    "SourceRegistry",
    "StoredResponse",
    "WebhookVerifier",
    "hash_key",
]


@dataclass(frozen=True)
class EventGateway:
    sources: SourceRegistry
    idempotency: EventIdempotency
    publisher: EventPublisher
    stripe: WebhookVerifier
    zuora: CalloutCredentials

    def publish_event(self, api_key: str | None, raw_body: bytes) -> Reply:
        return publish_event(self.sources, self.idempotency, self.publisher, api_key, raw_body)

    def handle_stripe_webhook(self, raw_body: bytes, signature_header: str | None) -> Reply:
        return handle_stripe_webhook(self.stripe, self.idempotency, self.publisher, raw_body,
                                     signature_header)

    def handle_zuora_callout(self, raw_body: bytes, authorization: str | None) -> Reply:
        return handle_zuora_callout(self.zuora, self.idempotency, self.publisher, raw_body, authorization)
