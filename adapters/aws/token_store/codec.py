"""The stored token's JSON (docs/bus-contract.md): pure functions, property-tested.

    {"access_token": "...", "instance_url": "..."?, "issued_at": ISO 8601 UTC, "expires_at": ISO 8601 UTC}

Decoding never raises KeyError/TypeError: a bad document raises domain ValidationError naming the field,
and the reader treats that as "no usable token" (the access manager rewrites it).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from application.access import StoredToken
from domain.errors import ValidationError

# SSM parameter values: 4 KB in the Standard tier, 8 KB in the Advanced tier.
STANDARD_MAX_CHARS = 4096
ADVANCED_MAX_CHARS = 8192


def token_parameter(stage: str, system: str) -> str:
    return f"/concord/{stage}/tokens/{system}"


def encode_token(token: StoredToken) -> str:
    if not token.access_token:
        raise ValidationError("access_token", "must not be empty")
    document: dict[str, str] = {
        "access_token": token.access_token,
        "issued_at": _iso(token.issued_at, "issued_at"),
        "expires_at": _iso(token.expires_at, "expires_at"),
    }
    if token.instance_url:
        document["instance_url"] = token.instance_url
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def decode_token(text: str) -> StoredToken:
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ValidationError("value", "is not JSON") from exc
    if not isinstance(document, dict):
        raise ValidationError("value", "must be a JSON object")
    instance_url = document.get("instance_url")
    if instance_url is not None and not isinstance(instance_url, str):
        raise ValidationError("instance_url", "must be a string")
    return StoredToken(access_token=_text(document, "access_token"),
                       issued_at=_when(document, "issued_at"), expires_at=_when(document, "expires_at"),
                       instance_url=instance_url or None)


def parameter_tier(value: str) -> str:
    """The SSM tier that can hold `value`; too long for any tier is refused, naming the field."""
    if len(value) <= STANDARD_MAX_CHARS:
        return "Standard"
    if len(value) <= ADVANCED_MAX_CHARS:
        return "Advanced"
    raise ValidationError("access_token",
                          f"stored value is {len(value)} chars; SSM holds {ADVANCED_MAX_CHARS}")


def _iso(moment: datetime, field: str) -> str:
    if moment.tzinfo is None:
        raise ValidationError(field, "must carry a time zone")
    return moment.astimezone(UTC).isoformat()


def _text(document: dict[str, Any], field: str) -> str:
    value = document.get(field)
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "field required (a non-empty string)")
    return value


def _when(document: dict[str, Any], field: str) -> datetime:
    text = _text(document, field)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(field, "is not an ISO 8601 time") from exc
    if moment.tzinfo is None:
        raise ValidationError(field, "must carry a time zone")
    return moment
