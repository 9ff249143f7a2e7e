"""Zuora subscriptions (GET /v1/subscriptions/{key}) -> canonical BillingSubscription.

Rules:
- The canonical billing id is the subscription NUMBER (A-S00000001): Zuora mints a new subscription
  id for every version (each order makes one), the number stays.
- `version` is the subscription's version number, zero-padded so text order is numeric order: each
  order on a subscription makes a new version, and the answer carries it.
- Statuses: Active, Suspended, Cancelled map to themselves; Expired is cancelled (at term end);
  Draft / Pending Activation / Pending Acceptance are pending.
- Rate plans whose lastChangeType is "Remove" are gone from the subscription, though Zuora lists them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.billing.zuora.mapping.catalog import price_id
from adapters.billing.zuora.mapping.common import get, parse_date, parse_decimal, text_or_none
from domain.canonical import BillingSubscription, SubscriptionItem
from domain.errors import ValidationError

_STATUS = {"Active": "active", "Suspended": "suspended", "Cancelled": "cancelled", "Expired": "cancelled",
           "Draft": "pending", "Pending Activation": "pending", "Pending Acceptance": "pending"}
ORDER_FIELD = "CrmOrderId__c"


@dataclass(frozen=True)
class CurrentCharge:
    """One live charge of a subscription, with what an amendment needs to address it."""

    price_id: str
    sku: str
    rate_plan_id: str
    product_rate_plan_id: str
    charge_number: str
    quantity: int


def _quantity(charge: Mapping[str, Any], path: str) -> int:
    raw = charge.get("quantity")
    amount = parse_decimal(path, raw if raw is not None else 1)  # Flat Fee charges carry no quantity
    if amount != amount.to_integral_value() or amount <= 0:
        raise ValidationError(path, f"{amount} is not a positive whole quantity")
    return int(amount)


def current_charges(subscription: Mapping[str, Any]) -> list[CurrentCharge]:
    charges = []
    for p_index, plan in enumerate(subscription.get("ratePlans") or []):
        if plan.get("lastChangeType") == "Remove":
            continue
        for c_index, charge in enumerate(plan.get("ratePlanCharges") or []):
            path = f"ratePlans[{p_index}].ratePlanCharges[{c_index}]"
            prp = str(get(plan, "productRatePlanId", f"ratePlans[{p_index}].productRatePlanId"))
            prpc = str(get(charge, "productRatePlanChargeId", f"{path}.productRatePlanChargeId"))
            charges.append(CurrentCharge(
                price_id=price_id(prp, prpc), sku=str(plan.get("productSku") or ""),
                rate_plan_id=str(get(plan, "id", f"ratePlans[{p_index}].id")), product_rate_plan_id=prp,
                charge_number=str(get(charge, "number", f"{path}.number")),
                quantity=_quantity(charge, f"{path}.quantity")))
    return charges


def subscription_version(subscription: Mapping[str, Any]) -> str:
    version = parse_decimal("version", get(subscription, "version", "version"))
    if version != version.to_integral_value() or version < Decimal(0):
        raise ValidationError("version", f"{version} is not a subscription version number")
    return f"{int(version):09d}"


def subscription_from_zuora(subscription: Mapping[str, Any]) -> BillingSubscription:
    raw_status = str(get(subscription, "status", "status"))
    status = _STATUS.get(raw_status)
    if status is None:
        raise ValidationError("status", f"Zuora status {raw_status!r} has no canonical meaning")
    cancelled_on = None
    if status == "cancelled":
        cancelled_on = parse_date("cancelledDate", subscription.get("subscriptionEndDate")
                                  or subscription.get("termEndDate"))
    items = tuple(SubscriptionItem(sku=c.sku, price_id=c.price_id, plan_id=c.product_rate_plan_id, quantity=c.quantity)
                  for c in current_charges(subscription))
    return BillingSubscription(
        billing_id=str(get(subscription, "subscriptionNumber", "subscriptionNumber")),
        number=str(get(subscription, "subscriptionNumber", "subscriptionNumber")),
        status=status,
        account_billing_id=str(get(subscription, "accountId", "accountId")),
        order_crm_id=text_or_none(subscription, ORDER_FIELD),
        version=subscription_version(subscription),
        cancelled_on=cancelled_on,
        items=items,
    )
