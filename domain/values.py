"""Value objects and field validators of the canonical model (no vendor's field names here)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from domain.errors import ValidationError
from domain.iso import COUNTRIES, CURRENCIES, THREE_DECIMAL, ZERO_DECIMAL

# The tightest limit any supported vendor puts on each field (Salesforce, Zuora, Stripe).
# Values longer than this are refused at the edge instead of being cut differently by each vendor.
MAX_LEN: dict[str, int] = {
    "name": 255,
    "email": 80,
    "phone": 20,  # Stripe's customer.phone; Salesforce and Zuora take 40
    "street": 255,
    "city": 40,
    "state": 40,
    "postal_code": 20,
    "payment_terms": 100,
    "tax_id": 64,
    "sku": 100,
    "description": 2000,
}

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class System(StrEnum):
    """The systems concord speaks to. External HTTP sources are named freely (see Correlation)."""

    CRM = "crm"
    BILLING = "billing"
    PAYMENT = "payment"
    CONCORD = "concord"


class BillingPeriod(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def check_text(field: str, value: Any, kind: str | None = None, *, required: bool = False) -> str | None:
    """A trimmed string within the vendor-safe length of its kind, or None when empty and optional."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(field, "is required")
        return None
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    text = value.strip()
    limit = MAX_LEN.get(kind or field.rsplit(".", 1)[-1])
    if limit is not None and len(text) > limit:
        raise ValidationError(field, f"is {len(text)} characters long, at most {limit} are allowed")
    return text


def check_email(field: str, value: Any) -> str | None:
    text = check_text(field, value, "email")
    if text is not None and not _EMAIL.match(text):
        raise ValidationError(field, f"{text!r} is not a valid email address")
    return text


def check_currency(field: str, value: Any) -> str:
    if not isinstance(value, str) or value.strip().upper() not in CURRENCIES:
        raise ValidationError(field, f"{value!r} is not an ISO 4217 currency code")
    return value.strip().upper()


def check_country(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value.strip().upper() not in COUNTRIES:
        raise ValidationError(field, f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return value.strip().upper()


def check_decimal(field: str, value: Any) -> Decimal:
    if isinstance(value, float):
        raise ValidationError(field, "must be a decimal string or Decimal, never a float")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(field, f"{value!r} is not a number") from exc
    if not amount.is_finite():
        raise ValidationError(field, f"{value!r} is not a finite number")
    return amount


def check_date(field: str, value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise ValidationError(field, f"{value!r} is not an ISO date (YYYY-MM-DD)") from exc


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit (Stripe's unit_amount scale)."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


@dataclass(frozen=True)
class Money:
    """An amount in a currency, on Decimal. Never float: a price must round-trip exactly."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "amount", check_decimal("amount", self.amount))
        object.__setattr__(self, "currency", check_currency("currency", self.currency))
        if self.amount < 0:
            raise ValidationError("amount", "must not be negative")

    def to_minor_units(self) -> int:
        """The amount in the currency's minor unit; refuses amounts finer than that unit."""
        exponent = minor_unit_exponent(self.currency)
        scaled = self.amount.scaleb(exponent)
        if scaled != scaled.to_integral_value():
            raise ValidationError("amount", f"{self.amount} has more than {exponent} decimals for {self.currency}")
        return int(scaled)

    @classmethod
    def from_minor_units(cls, units: int, currency: str) -> Money:
        exponent = minor_unit_exponent(check_currency("currency", currency))
        return cls(Decimal(units).scaleb(-exponent), currency)

    def quantize(self) -> Money:
        exponent = Decimal(1).scaleb(-minor_unit_exponent(self.currency))
        return Money(self.amount.quantize(exponent, rounding=ROUND_HALF_EVEN), self.currency)

    def to_dict(self) -> dict[str, str]:
        return {"amount": str(self.amount), "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Money:
        return cls(check_decimal("amount", data.get("amount")), data.get("currency", ""))
