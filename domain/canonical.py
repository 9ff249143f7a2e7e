"""The canonical model: what concord knows of each entity, whatever system it came from.

Records crossing a port are these frozen dataclasses. Accounts are flat field maps (so each field
can carry its own sync position, DESIGN §3); orders and products are whole snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from domain.errors import ValidationError
from domain.values import (
    BillingPeriod,
    Money,
    check_country,
    check_currency,
    check_date,
    check_email,
    check_text,
)

Validator = Callable[[str, Any], Any]


def _text(field_name: str, value: Any) -> Any:
    return check_text(field_name, value)


def _required_text(field_name: str, value: Any) -> Any:
    return check_text(field_name, value, required=True)


def _status(field_name: str, value: Any) -> Any:
    text = check_text(field_name, value)
    if text is not None and text not in ACCOUNT_STATUSES:
        raise ValidationError(field_name, f"{text!r} is not one of {sorted(ACCOUNT_STATUSES)}")
    return text


ACCOUNT_STATUSES = frozenset({"active", "inactive", "closed"})
ADDRESS_PARTS = ("street", "city", "state", "postal_code", "country")

# CRM-owned account fields and how each is validated. Flat: "bill_to.city" is one field.
ACCOUNT_FIELDS: dict[str, Validator] = {
    "name": _required_text,
    "email": check_email,
    "phone": _text,
    "currency": check_currency,
    "payment_terms": _text,
    "tax_id": _text,
    "status": _status,
    **{f"{prefix}.{part}": (check_country if part == "country" else _text)
       for prefix in ("bill_to", "sold_to") for part in ADDRESS_PARTS},
}

# Billing-owned account facts (DESIGN §3 ownership).
BILLING_ACCOUNT_FIELDS = ("billing_account_id", "billing_account_number", "balance", "payment_state")


def validate_account_fields(values: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
    """Normalise CRM account fields; unknown names and bad values raise ValidationError naming the field."""
    clean: dict[str, Any] = {}
    for name, value in values.items():
        validator = ACCOUNT_FIELDS.get(name)
        if validator is None:
            raise ValidationError(name, "is not a canonical account field")
        clean[name] = validator(name, value)
    if not partial:
        for required in ("name", "currency"):
            if clean.get(required) is None:
                raise ValidationError(required, "is required")
    return clean


@dataclass(frozen=True)
class CrmAccount:
    crm_id: str
    fields: Mapping[str, Any]
    modified_at: str = ""


@dataclass(frozen=True)
class BillingAccount:
    """The billing system's account, applied whole; `version` orders updates of one object.

    `payment_state` is canonical: "current", or "failed" when the customer's last payment failed
    (concord then suspends the account's active subscriptions, DESIGN §3).
    """

    billing_id: str
    account_number: str
    crm_id: str | None
    fields: Mapping[str, Any]
    balance: Decimal = Decimal("0")
    payment_state: str = "current"
    version: str = ""


@dataclass(frozen=True)
class OrderLine:
    line_id: str
    sku: str
    quantity: int
    unit_price: Money
    period: BillingPeriod = BillingPeriod.MONTH

    def __post_init__(self) -> None:
        if not isinstance(self.quantity, int) or isinstance(self.quantity, bool) or self.quantity <= 0:
            raise ValidationError(f"lines[{self.line_id}].quantity", "must be a positive whole number")
        check_text(f"lines[{self.line_id}].sku", self.sku, "sku", required=True)

    def to_dict(self) -> dict[str, Any]:
        return {"line_id": self.line_id, "sku": self.sku, "quantity": self.quantity,
                "unit_price": self.unit_price.to_dict(), "period": self.period.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrderLine:
        return cls(str(data["line_id"]), str(data["sku"]), int(data["quantity"]),
                   Money.from_dict(data["unit_price"]), BillingPeriod(data.get("period", "month")))


@dataclass(frozen=True)
class OrderSnapshot:
    """A CRM order with its lines, as the CRM holds it now."""

    crm_id: str
    account_crm_id: str
    status: str
    effective_date: date
    term_months: int
    currency: str
    lines: tuple[OrderLine, ...]
    modified_at: str = ""

    def __post_init__(self) -> None:
        check_currency("currency", self.currency)
        check_date("effective_date", self.effective_date)
        if self.term_months <= 0:
            raise ValidationError("term_months", "must be positive")
        if not self.lines:
            raise ValidationError("lines", "an order needs at least one line")
        for line in self.lines:
            if line.unit_price.currency != self.currency:
                raise ValidationError(f"lines[{line.line_id}].unit_price.currency",
                                      f"is {line.unit_price.currency}, the order is in {self.currency}")


@dataclass(frozen=True)
class PriceSpec:
    """One price of a product: an amount per currency and billing period."""

    amount: Money
    period: BillingPeriod

    @property
    def key(self) -> str:
        return f"{self.amount.currency}/{self.period.value}"


@dataclass(frozen=True)
class ProductSnapshot:
    crm_id: str
    sku: str
    name: str
    description: str | None = None
    active: bool = True
    effective_from: date | None = None
    effective_to: date | None = None
    prices: tuple[PriceSpec, ...] = ()
    modified_at: str = ""

    def __post_init__(self) -> None:
        check_text("sku", self.sku, "sku", required=True)
        check_text("name", self.name, required=True)
        check_text("description", self.description)
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValidationError("effective_to", "is before effective_from")
        keys = [price.key for price in self.prices]
        if len(keys) != len(set(keys)):
            raise ValidationError("prices", "two prices for one currency and period")


@dataclass(frozen=True)
class BillingProductRef:
    product_id: str
    plan_id: str | None = None


@dataclass(frozen=True)
class SubscriptionRequest:
    """What billing needs to create or amend a subscription for an order."""

    order_crm_id: str
    account_billing_id: str
    currency: str
    effective_date: date
    term_months: int
    items: tuple[SubscriptionItem, ...]


@dataclass(frozen=True)
class SubscriptionItem:
    sku: str
    price_id: str
    plan_id: str | None
    quantity: int


@dataclass(frozen=True)
class BillingSubscription:
    billing_id: str
    number: str
    status: str  # active | cancelled | suspended | pending
    account_billing_id: str
    order_crm_id: str | None
    version: str = ""
    cancelled_on: date | None = None
    items: tuple[SubscriptionItem, ...] = field(default=())


def quantities_by_sku(lines: Iterable[OrderLine] | Iterable[SubscriptionItem]) -> dict[str, int]:
    """What an order's lines or a subscription's items sell, summed by sku: how the CRM and billing are compared."""
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return totals


SUBSCRIPTION_STATUSES = frozenset({"pending", "active", "suspended", "cancelled"})
