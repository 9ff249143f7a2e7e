"""Shared rules of the Zuora anti-corruption layer: field limits, dates, exact decimals, versions.

Pure functions only: no I/O, no clock (callers pass `today`), deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import ValidationError
from domain.values import BillingPeriod

# Zuora's own field lengths (SOAP/CRUD object reference, Data Loader dictionary).
LIMITS: dict[str, int] = {
    "crmId": 100,
    "accountName": 255,
    "firstName": 100,
    "lastName": 100,
    "workEmail": 80,
    "workPhone": 40,
    "address1": 255,
    "city": 40,
    "state": 40,
    "postalCode": 20,
    "paymentTerm": 100,
    "productName": 100,
    "sku": 50,
    "productDescription": 500,
    "ratePlanName": 100,
    "chargeName": 100,
    "zuoraId": 32,
}

PERIOD_TO_ZUORA = {BillingPeriod.MONTH: "Month", BillingPeriod.QUARTER: "Quarter", BillingPeriod.YEAR: "Annual"}
PERIOD_FROM_ZUORA = {name: period for period, name in PERIOD_TO_ZUORA.items()}

# Zuora keeps unit prices to 9 decimal places; finer amounts would be rounded by the vendor.
PRICE_DECIMALS = 9


def truncate(text: str | None, limit_name: str) -> str | None:
    """Free text (names, descriptions) is cut to Zuora's length as Zuora's UI would; ids never are."""
    if text is None:
        return None
    return text[: LIMITS[limit_name]]


def identifier(field: str, value: Any, limit_name: str) -> str:
    """An identifier Zuora must hold unchanged: refused, never cut, when too long or empty."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(field, "is required and must be text")
    if len(value) > LIMITS[limit_name]:
        raise ValidationError(field, f"is {len(value)} characters long, Zuora holds at most {LIMITS[limit_name]}")
    return value


def iso_date(value: date) -> str:
    return value.isoformat()


def parse_date(field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not a date") from exc


def json_price(field: str, amount: Decimal) -> float:
    """A Decimal as a JSON number Zuora reads back to the same value, or ValidationError.

    Python's float repr is the shortest text that round-trips, so any amount of up to 15 significant
    digits survives; larger or finer amounts are refused rather than silently rounded.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0:
        raise ValidationError(field, f"{amount!r} is not a non-negative decimal amount")
    try:
        exact = amount == amount.quantize(Decimal(1).scaleb(-PRICE_DECIMALS))
    except InvalidOperation:
        exact = False
    if not exact:
        raise ValidationError(field, f"{amount} has more than {PRICE_DECIMALS} decimals or digits than Zuora holds")
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise ValidationError(field, f"{amount} has more digits than a Zuora price holds")
    return number


def parse_decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValidationError(field, f"{value!r} is not a number")
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(field, f"{value!r} is not a number") from exc
    if not amount.is_finite():
        raise ValidationError(field, f"{value!r} is not a finite number")
    return amount


def utc_version(field: str, value: Any) -> str:
    """Zuora timestamps (tenant offset, e.g. 2026-11-22T02:00:00-08:00) as sortable UTC text."""
    if not isinstance(value, str) or not value:
        raise ValidationError(field, "is missing from Zuora's answer")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not a timestamp") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def get(obj: Mapping[str, Any], key: str, path: str) -> Any:
    """A required key of a Zuora answer; a missing one is a named ValidationError, never a KeyError."""
    if not isinstance(obj, Mapping) or obj.get(key) is None:
        raise ValidationError(path, "is missing from Zuora's answer")
    return obj[key]


def text_or_none(obj: Mapping[str, Any] | None, key: str) -> str | None:
    if not isinstance(obj, Mapping):
        return None
    value = obj.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return str(value).strip()
