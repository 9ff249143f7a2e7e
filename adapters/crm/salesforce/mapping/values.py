"""Value conversions between Salesforce's JSON and the canonical model. Pure and deterministic.

Numbers: the client parses JSON floats as Decimal, so amounts arrive exact; a float that still gets
here is read through its shortest repr (what Salesforce printed). Going out, an amount becomes a JSON
number only when that number reads back as the same Decimal, else it is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.crm.salesforce.mapping.fields import PERIODS
from domain.errors import ValidationError
from domain.values import BillingPeriod, check_date, minor_unit_exponent


def text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    return value


def decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise ValidationError(field, f"must be a number, got {type(value).__name__}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(field, f"{value!r} is not a number") from exc
    if not number.is_finite():
        raise ValidationError(field, f"{value!r} is not a finite number")
    return number


def whole_number(field: str, value: Any) -> int:
    number = decimal(field, value)
    if number != number.to_integral_value():
        raise ValidationError(field, f"{number} is not a whole number")
    return int(number)


def json_number(field: str, amount: Decimal, currency: str | None = None) -> int | float:
    """A Decimal as a JSON number that reads back exactly; finer than the currency's minor unit is refused."""
    exponent = amount.normalize().as_tuple().exponent
    if currency is not None and isinstance(exponent, int) and exponent < -minor_unit_exponent(currency):
        raise ValidationError(field, f"{amount} has more decimals than {currency} allows")
    if amount == amount.to_integral_value():
        return int(amount)
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount:
        raise ValidationError(field, f"{amount} has more digits than Salesforce stores")
    return as_float


def timestamp(field: str, value: Any) -> str:
    """Salesforce's `2026-01-15T10:29:59.000+0000` as ISO 8601 UTC with milliseconds ('+00:00')."""
    if value is None or value == "":
        return ""
    raw = text(field, value) or ""
    normal = raw.replace("Z", "+00:00")
    if len(normal) > 5 and normal[-5] in "+-" and normal[-3] != ":":
        normal = f"{normal[:-2]}:{normal[-2:]}"
    try:
        moment = datetime.fromisoformat(normal)
    except ValueError as exc:
        raise ValidationError(field, f"{raw!r} is not a Salesforce date/time") from exc
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")


def sf_datetime(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def optional_date(field: str, value: Any) -> date | None:
    return None if value in (None, "") else check_date(field, value)


def period(field: str, value: Any) -> BillingPeriod:
    """Billing_Period__c picklist -> BillingPeriod; empty means monthly."""
    if value in (None, ""):
        return BillingPeriod.MONTH
    label = text(field, value) or ""
    try:
        return BillingPeriod(label.strip().lower())
    except ValueError:
        raise ValidationError(field, f"{label!r} is not one of {sorted(PERIODS.values())}") from None


def truncate(value: str, limit: int) -> str:
    """Cut to `limit` characters, marking the cut with an ellipsis (for free-text messages only)."""
    return value if len(value) <= limit else value[:limit - 1] + "…"


def latest(*stamps: str) -> str:
    return max((s for s in stamps if s), default="")


def need(record: Mapping[str, Any], name: str, field: str) -> Any:
    """A field the mapping cannot do without; missing -> ValidationError naming the canonical field."""
    value = record.get(name) if isinstance(record, Mapping) else None
    if value is None or value == "":
        raise ValidationError(field, f"Salesforce field {name} is empty")
    return value
