"""Canonical subscription request <-> Stripe subscription (pure).

Create: customer, currency, items[i][price|quantity|metadata[sku]], metadata[crm_order_id] and
metadata[concord_term_months|effective_date]. concord bills B2B accounts by invoice
(collection_method=send_invoice, days_until_due), so a subscription is active without a card on file;
with charge_automatically and no payment method Stripe would leave it `incomplete`. A future
effective_date is kept in metadata only: starting later needs Stripe Subscription Schedules (not used).

Amend: items are matched by metadata[sku]: a kept SKU updates its item's quantity (and its price only
if another price is asked for: a migration), a new SKU adds an item, a missing SKU deletes its item
(items[i][id]=si_…, items[i][deleted]=true).

Status, Stripe -> canonical (the first rule that holds):
    canceled, incomplete_expired                        -> cancelled
    cancel_at or cancel_at_period_end set               -> cancelled   (a cancellation with an effective
                                                                        date, DESIGN §3; Stripe keeps it
                                                                        active until then)
    pause_collection set                                -> suspended   (suspend = behavior void)
    active, trialing                                    -> active
    past_due, unpaid                                    -> active      (payment failure is shown on the
                                                                        account: payment_state "failed")
    paused (trial ended without a payment method)       -> suspended
    incomplete                                          -> pending     (first invoice not paid yet)
cancelled_on: the end (ended_at, else canceled_at) of a canceled subscription; for a live one the
scheduled end: cancel_at, else current_period_end when cancel_at_period_end is set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from adapters.billing.stripe.mapping.common import (
    PREFIX,
    SYSTEM,
    check_id,
    date_to_epoch,
    epoch_to_date,
    metadata,
    read,
)
from application.errors import PermanentError
from domain.canonical import BillingSubscription, SubscriptionItem, SubscriptionRequest
from domain.errors import ValidationError
from domain.values import check_currency

ORDER_KEY = "crm_order_id"
DEFAULT_DAYS_UNTIL_DUE = 30
_STATUS = {"active": "active", "trialing": "active", "past_due": "active", "unpaid": "active",
           "paused": "suspended", "incomplete": "pending", "canceled": "cancelled",
           "incomplete_expired": "cancelled"}

SUSPEND_PARAMS: dict[str, Any] = {"pause_collection": {"behavior": "void"}}
RESUME_PARAMS: dict[str, Any] = {"pause_collection": ""}  # "" unsets pause_collection


def subscription_create_params(request: SubscriptionRequest,
                               days_until_due: int = DEFAULT_DAYS_UNTIL_DUE) -> dict[str, Any]:
    items = _checked_items(request.items)
    return {
        "customer": check_id("account_billing_id", request.account_billing_id),
        "currency": check_currency("currency", request.currency).lower(),
        "collection_method": "send_invoice", "days_until_due": days_until_due,
        "items": [_new_item(item) for item in items],
        "metadata": {ORDER_KEY: check_id("order_crm_id", request.order_crm_id), **_request_meta(request)},
    }


def subscription_amend_params(current: Mapping[str, Any], request: SubscriptionRequest) -> dict[str, Any]:
    wanted = {item.sku: item for item in _checked_items(request.items)}
    changes: list[dict[str, Any]] = []
    for item_id, kept in _current_items(current):
        item = wanted.pop(kept.sku, None)
        if item is None:
            changes.append({"id": item_id, "deleted": True})
        elif item.price_id == kept.price_id:
            # The subscription keeps its price (DESIGN §3): only the quantity is sent, so an amendment
            # made after the price was retired (a price change) is not refused for naming it.
            changes.append({"id": item_id, "quantity": item.quantity})
        else:
            changes.append({"id": item_id, "price": item.price_id, "quantity": item.quantity})
    changes.extend(_new_item(item) for item in wanted.values())
    return {"items": changes, "metadata": _request_meta(request)}


def cancel_plan(effective: date, today: date, period_end: date | None) -> tuple[str, dict[str, Any]]:
    """("delete", {}) to cancel now with DELETE, or ("update", params) to schedule the end."""
    if effective <= today:
        return "delete", {}
    if period_end is not None and effective == period_end:
        return "update", {"cancel_at_period_end": True}
    return "update", {"cancel_at": date_to_epoch(effective)}


def period_end(subscription: Mapping[str, Any]) -> date | None:
    """current_period_end (on the subscription up to API 2025-03-31, on its items after)."""
    seconds = read(subscription, "current_period_end", int, "subscription", required=False)
    if seconds is None:
        ends = [read(item, "current_period_end", int, "subscription.items", required=False)
                for item in _item_objects(subscription)]
        seconds = min((end for end in ends if end is not None), default=None)
    return epoch_to_date(seconds) if seconds is not None else None


def canonical_status(subscription: Mapping[str, Any]) -> str:
    status = read(subscription, "status", str, "subscription")
    canonical = _STATUS.get(status or "")
    if canonical is None:
        raise PermanentError(f"unknown Stripe subscription status {status!r}", system=SYSTEM,
                             code="unexpected_shape", field="subscription.status")
    if canonical == "cancelled":
        return canonical
    if read(subscription, "cancel_at", int, "subscription", required=False) or read(
            subscription, "cancel_at_period_end", bool, "subscription", required=False):
        return "cancelled"
    if read(subscription, "pause_collection", dict, "subscription", required=False):
        return "suspended"
    return canonical


def subscription_to_canonical(subscription: Mapping[str, Any], version: str = "") -> BillingSubscription:
    sub_id = read(subscription, "id", str, "subscription") or ""
    customer = subscription.get("customer")  # an id, or the customer object when expanded
    customer_id = (read(customer, "id", str, "subscription.customer") if isinstance(customer, Mapping)
                   else read(subscription, "customer", str, "subscription"))
    return BillingSubscription(
        billing_id=sub_id, number=sub_id, status=canonical_status(subscription),
        account_billing_id=str(customer_id), order_crm_id=metadata(subscription, "subscription").get(ORDER_KEY),
        version=version, cancelled_on=_cancelled_on(subscription),
        items=tuple(_canonical_item(item) for item in _item_objects(subscription)))


def _checked_items(items: Sequence[SubscriptionItem]) -> list[SubscriptionItem]:
    if not items:
        raise ValidationError("items", "a subscription needs at least one item")
    seen_prices: set[str] = set()
    seen_skus: set[str] = set()
    for index, item in enumerate(items):
        check_id(f"items[{index}].price_id", item.price_id)
        check_id(f"items[{index}].sku", item.sku)
        if not isinstance(item.quantity, int) or isinstance(item.quantity, bool) or item.quantity <= 0:
            raise ValidationError(f"items[{index}].quantity", "must be a positive whole number")
        if item.price_id in seen_prices or item.sku in seen_skus:
            raise ValidationError(f"items[{index}]", "Stripe allows one item per price and concord one per SKU")
        seen_prices.add(item.price_id)
        seen_skus.add(item.sku)
    return list(items)


def _new_item(item: SubscriptionItem) -> dict[str, Any]:
    return {"price": item.price_id, "quantity": item.quantity, "metadata": {"sku": item.sku}}


def _request_meta(request: SubscriptionRequest) -> dict[str, str]:
    if not isinstance(request.term_months, int) or request.term_months <= 0:
        raise ValidationError("term_months", "must be a positive whole number")
    return {PREFIX + "term_months": str(request.term_months),
            PREFIX + "effective_date": request.effective_date.isoformat()}


def _item_objects(subscription: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = read(subscription, "items", dict, "subscription", required=False) or {}
    data = read(items, "data", list, "subscription.items", required=False) or []
    for item in data:
        read(item, "id", str, "subscription.items.data")  # every item is an object with an id
    return data


def _current_items(subscription: Mapping[str, Any]) -> list[tuple[str, SubscriptionItem]]:
    return [(str(item["id"]), _canonical_item(item)) for item in _item_objects(subscription)]


def _canonical_item(item: Mapping[str, Any]) -> SubscriptionItem:
    price = read(item, "price", dict, "subscription.items.data")
    return SubscriptionItem(
        sku=metadata(item, "subscription.items.data").get("sku", ""),
        price_id=read(price, "id", str, "subscription.items.data.price") or "",
        plan_id=read(price, "product", str, "subscription.items.data.price", required=False),
        quantity=read(item, "quantity", int, "subscription.items.data") or 0)


def _cancelled_on(subscription: Mapping[str, Any]) -> date | None:
    def stamp(key: str) -> int | None:
        return read(subscription, key, int, "subscription", required=False)

    if read(subscription, "status", str, "subscription") in ("canceled", "incomplete_expired"):
        ended = stamp("ended_at") or stamp("canceled_at")
        return epoch_to_date(ended) if ended else None
    if stamp("cancel_at"):
        return epoch_to_date(stamp("cancel_at") or 0)
    if read(subscription, "cancel_at_period_end", bool, "subscription", required=False):
        return period_end(subscription)
    return None
