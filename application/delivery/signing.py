"""`Concord-Signature: t=<unix>,v1=<hex>[,v1=<hex>]` (DESIGN §4), Stripe's scheme so receivers know it.

v1 = hex HMAC-SHA256(secret, "<t>.<raw body>"); one v1 per signing secret, so a receiver holding
either the old or the new secret accepts the delivery while a secret is rotated.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HEADER = "Concord-Signature"


def v1(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    if not secrets:
        raise ValueError("a destination needs at least one signing secret")
    return ",".join([f"t={timestamp}", *(f"v1={v1(body, secret, timestamp)}" for secret in secrets)])


def verify(body: bytes, header: str, secrets: Sequence[str], *, now: float, tolerance_s: float = 300) -> bool:
    """The receiver's side (tests and docs): any v1 matching any secret, within the tolerance."""
    parts = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in parts if key.strip() == "t" and value.isdigit()]
    if len(stamps) != 1 or abs(now - int(stamps[0])) > tolerance_s:
        return False
    expected = [v1(body, secret, int(stamps[0])) for secret in secrets]
    given = [value for key, _, value in parts if key.strip() == "v1"]
    return any(hmac.compare_digest(g, e) for g in given for e in expected)
