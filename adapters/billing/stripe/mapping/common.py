"""Helpers shared by the Stripe mappings: safe reads of vendor objects and Stripe's own limits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from application.errors import PermanentError
from domain.errors import ValidationError

T = TypeVar("T")

SYSTEM = "stripe"

# Stripe metadata limits (docs.stripe.com/api/metadata): 50 keys, keys <= 40 chars, values <= 500 chars.
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX = 40
METADATA_VALUE_MAX = 500
# Keys concord writes are prefixed, so a human's own metadata on the same object is never touched.
PREFIX = "concord_"


def read(obj: Any, key: str, kind: type[T], where: str, *, required: bool = True) -> T | None:
    """obj[key] when it has the expected type; a vendor object of another shape is a PermanentError."""
    if not isinstance(obj, Mapping):
        raise PermanentError(f"Stripe returned {type(obj).__name__} for {where}, expected an object",
                             system=SYSTEM, code="unexpected_shape", field=where)
    value = obj.get(key)
    if value is None and not required:
        return None
    if kind is int and isinstance(value, bool):
        value = None  # bool is an int subclass; a flag where a number belongs is a shape error
    if not isinstance(value, kind):
        raise PermanentError(f"Stripe returned {value!r} for {where}.{key}, expected {kind.__name__}",
                             system=SYSTEM, code="unexpected_shape", field=f"{where}.{key}")
    return value


def metadata(obj: Any, where: str) -> dict[str, str]:
    raw = read(obj, "metadata", dict, where, required=False) or {}
    return {str(key): str(value) for key, value in raw.items() if value is not None}


def check_metadata_value(field: str, value: str) -> str:
    if len(value) > METADATA_VALUE_MAX:
        raise ValidationError(field, f"is {len(value)} characters long; Stripe metadata values hold at most "
                                     f"{METADATA_VALUE_MAX}")
    return value


def check_id(field: str, value: Any) -> str:
    """An id we put in metadata or a search query: non-empty text that fits a metadata value."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "is required")
    return check_metadata_value(field, value.strip())


def epoch_to_date(seconds: int) -> date:
    return datetime.fromtimestamp(seconds, UTC).date()


def date_to_epoch(day: date) -> int:
    """Midnight UTC of the day, the instant Stripe timestamps are compared with."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
