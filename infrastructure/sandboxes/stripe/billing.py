"""What moves a subscription without an API call: invoices (the admin endpoint) and the clock.

`POST /__sandbox/invoices {"subscription": "sub_…", "outcome": "paid" | "payment_failed"}` settles the
subscription's open invoice (its first one) or creates the next one, then moves the state as Stripe does:
a failed payment makes an active subscription past_due and the customer delinquent; a payment makes a
past_due, unpaid or incomplete subscription active and the customer not delinquent. Emits invoice.paid or
invoice.payment_failed, then customer.subscription.updated and customer.updated when they changed.

On every request the sandbox clock is applied: a subscription whose cancel_at has passed ends
(customer.subscription.deleted); a period that has ended rolls over (no renewal invoice is made).
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from infrastructure.sandboxes.stripe.events import changed
from infrastructure.sandboxes.stripe.store import Obj

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

_LIVE = ("active", "trialing", "past_due", "unpaid", "incomplete", "paused")


def add_interval(start: int, interval: str, count: int) -> int:
    moment = datetime.fromtimestamp(start, UTC)
    if interval in ("day", "week"):
        return int((moment + timedelta(days=count * (7 if interval == "week" else 1))).timestamp())
    months = moment.month - 1 + count * (12 if interval == "year" else 1)
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])  # Jan 31 + 1 month = Feb 28/29
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def new_invoice(api: StripeSandbox, subscription: Obj, reason: str) -> Obj:
    invoice = api.store.new("in", "invoice")
    lines, total = [], 0
    for item in subscription["items"]["data"]:
        amount = int((Decimal(item["price"]["unit_amount_decimal"]) * item["quantity"])
                     .quantize(Decimal(1), rounding=ROUND_HALF_UP))
        total += amount
        lines.append({"id": api.store.new("il", "line_item")["id"], "object": "line_item", "amount": amount,
                      "currency": subscription["currency"], "price": copy.deepcopy(item["price"]),
                      "quantity": item["quantity"]})
    due = subscription.get("days_until_due")
    invoice.update(amount_due=total, amount_paid=0, amount_remaining=total, attempt_count=0, attempted=False,
                   billing_reason=reason, collection_method=subscription["collection_method"],
                   currency=subscription["currency"], customer=subscription["customer"],
                   due_date=invoice["created"] + due * 86400 if due else None,
                   lines={"object": "list", "data": lines, "has_more": False,
                          "url": f"/v1/invoices/{invoice['id']}/lines"},
                   paid=False, period_start=subscription["current_period_start"],
                   period_end=subscription["current_period_end"], status="open", subscription=subscription["id"],
                   subtotal=total, total=total)
    return api.store.save(invoice)


def settle(api: StripeSandbox, subscription: Obj, outcome: str) -> Obj:
    latest = api.store.objects.get("invoice", {}).get(subscription.get("latest_invoice") or "")
    invoice = latest if latest and latest["status"] == "open" else new_invoice(api, subscription, "subscription_cycle")
    subscription["latest_invoice"] = invoice["id"]
    paid = outcome == "paid"
    invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1, paid=paid,
                   status="paid" if paid else "open", amount_paid=invoice["amount_due"] if paid else 0,
                   amount_remaining=0 if paid else invoice["amount_due"])
    api.emit(None, "invoice.paid" if paid else "invoice.payment_failed", invoice)
    before_sub = copy.deepcopy(subscription)
    if paid and subscription["status"] in ("past_due", "unpaid", "incomplete"):
        subscription["status"] = "active"
    elif not paid and subscription["status"] in ("active", "trialing"):
        subscription["status"] = "past_due"
    _saved_with_event(api, before_sub, subscription, "customer.subscription.updated")
    customer = api.store.get("customer", subscription["customer"])
    before_customer = copy.deepcopy(customer)
    customer["delinquent"] = not paid
    _saved_with_event(api, before_customer, customer, "customer.updated")
    return invoice


def tick(api: StripeSandbox) -> None:
    now = api.store.now()
    for subscription in list(api.store.objects.get("subscription", {}).values()):
        if subscription["status"] not in _LIVE:
            continue
        if subscription.get("cancel_at") and subscription["cancel_at"] <= now:
            end_now(api, subscription, ended_at=subscription["cancel_at"])
            continue
        while subscription["current_period_end"] <= now:
            recurring = subscription["items"]["data"][0]["price"]["recurring"]
            subscription["current_period_start"] = subscription["current_period_end"]
            subscription["current_period_end"] = add_interval(subscription["current_period_end"],
                                                              recurring["interval"], recurring["interval_count"])


def end_now(api: StripeSandbox, subscription: Obj, *, ended_at: int | None = None,
            request: object = None) -> Obj:
    subscription.update(status="canceled", canceled_at=api.store.now(), ended_at=ended_at or api.store.now())
    api.store.save(subscription)
    api.emit(request, "customer.subscription.deleted", subscription)  # type: ignore[arg-type]
    return subscription


def _saved_with_event(api: StripeSandbox, before: Obj, after: Obj, type_: str) -> None:
    api.store.save(after)
    previous = changed(before, after)
    if previous:
        api.emit(None, type_, after, previous)
