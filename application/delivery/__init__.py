"""Outbound deliveries (DESIGN §2.3): the bus -> the delivery queue -> signed POSTs to destinations."""

from __future__ import annotations

from application.delivery.deliver import Deliverer, classify
from application.delivery.ports import (
    AUTH_KINDS,
    AuthKind,
    Backoff,
    DeliveryLedger,
    DeliverySender,
    Destination,
    DestinationDirectory,
    RateLimiter,
    SecretReader,
    SendResult,
)
from application.delivery.signing import HEADER, signature_header, verify

__all__ = [
    "AUTH_KINDS",
    "HEADER",
    "AuthKind",
    "Backoff",
    "Deliverer",
    "DeliveryLedger",
    "DeliverySender",
    "Destination",
    "DestinationDirectory",
    "RateLimiter",
    "SecretReader",
    "SendResult",
    "classify",
    "signature_header",
    "verify",
]
