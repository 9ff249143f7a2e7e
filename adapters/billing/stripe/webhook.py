"""Stripe webhook signatures (pure): `Stripe-Signature: t=<unix>,v1=<hex>[,v1=…][,v0=…]`.

v1 = hex HMAC-SHA256(endpoint secret, b"<t>." + raw body) (VENDORS §0 #12). Verification runs on the raw
bytes as received (re-serialised JSON would not match). During a secret rotation Stripe sends one v1 per
active secret and the receiver holds both secrets: any v1 matching any secret is accepted. v0 is a
legacy test-mode scheme and is ignored. A timestamp further than `tolerance_s` from `now`, in either
direction, is refused (replay protection; the SDK default is 300 s).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

from application.errors import PermanentError

HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE_S = 300


class WebhookSignatureError(PermanentError):
    """The delivery is not provably Stripe's. `reason` is stable for logs and metrics:
    missing_header | malformed_header | no_v1_signature | no_secret | signature_mismatch |
    timestamp_outside_tolerance | invalid_payload.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message, system="stripe", code=reason, field=HEADER)
        self.reason = reason


def compute(raw_body: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode(), str(t).encode() + b"." + raw_body, hashlib.sha256).hexdigest()


def sign(raw_body: bytes, secret: str | Sequence[str], t: int) -> str:
    """The header Stripe would send: one v1 per secret (several while a secret is being rotated)."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    return ",".join([f"t={t}", *(f"v1={compute(raw_body, s, t)}" for s in secrets)])


def parse_header(header: str | None) -> tuple[int, list[str]]:
    """(t, every v1 value) of a Stripe-Signature header."""
    if not header or not header.strip():
        raise WebhookSignatureError("missing_header", f"no {HEADER} header")
    timestamp: int | None = None
    v1: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise WebhookSignatureError("malformed_header", f"{HEADER} item {item!r} is not key=value")
        if key == "t":
            if not value.isdigit():
                raise WebhookSignatureError("malformed_header", f"{HEADER} timestamp {value!r} is not unix seconds")
            timestamp = int(value)
        elif key == "v1":
            v1.append(value)
    if timestamp is None:
        raise WebhookSignatureError("malformed_header", f"{HEADER} has no t=<timestamp>")
    if not v1:
        raise WebhookSignatureError("no_v1_signature", f"{HEADER} has no v1 signature")
    return timestamp, v1


def verify_signature(raw_body: bytes, header: str | None, secrets: Sequence[str], *,
                     tolerance_s: float = DEFAULT_TOLERANCE_S, now: float) -> dict[str, Any]:
    """The event, once its signature matches one of `secrets` within the tolerance; else WebhookSignatureError."""
    timestamp, signatures = parse_header(header)
    usable = [secret for secret in secrets if secret]
    if not usable:
        raise WebhookSignatureError("no_secret", "no webhook signing secret is configured")
    expected = [compute(raw_body, secret, timestamp) for secret in usable]
    # Every pair is compared (no early exit) so timing says nothing about which one matched.
    matched = False
    for signature in signatures:
        for candidate in expected:
            matched |= hmac.compare_digest(signature.encode(), candidate.encode())
    if not matched:
        raise WebhookSignatureError("signature_mismatch", "no v1 signature matches the payload and a known secret")
    if abs(now - timestamp) > tolerance_s:
        raise WebhookSignatureError("timestamp_outside_tolerance",
                                    f"signed at {timestamp}, {now - timestamp:+.0f} s from now; "
                                    f"tolerance is {tolerance_s:.0f} s")
    return _event(raw_body)


def _event(raw_body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WebhookSignatureError("invalid_payload", "the signed body is not JSON") from exc
    if not isinstance(event, dict) or event.get("object") != "event" or not isinstance(event.get("id"), str):
        raise WebhookSignatureError("invalid_payload", "the signed body is not a Stripe event object")
    return event
