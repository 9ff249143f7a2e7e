"""Subscriptions: create with items, update (items, quantities, pause_collection, cancel_at[_period_end]),
DELETE to cancel now, list, search (docs.stripe.com/api/subscriptions).

Status at creation: collection_method=send_invoice -> active with an open first invoice;
charge_automatically -> incomplete (the sandbox has no payment methods, so the first invoice cannot be
charged) until that invoice is paid through the admin endpoint.
"""

from __future__ import annotations

import copy
import functools
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.stripe import billing
from infrastructure.sandboxes.stripe import params as p
from infrastructure.sandboxes.stripe.errors import StripeError, missing_param
from infrastructure.sandboxes.stripe.events import changed
from infrastructure.sandboxes.stripe.items import apply_items
from infrastructure.sandboxes.stripe.store import Obj

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

UPDATE = ("items", "metadata", "pause_collection", "cancel_at_period_end", "cancel_at", "days_until_due",
          "collection_method", "proration_behavior", "payment_behavior", "description", "expand")
CREATE = (*UPDATE, "customer", "currency")
SEARCH_FIELDS = ("created", "status")
_ENDED = ("canceled", "incomplete_expired")


def register(api: StripeSandbox) -> None:
    for method, pattern, handler in ROUTES:
        api.route(method, pattern, functools.partial(handler, api))


def _create_route(api: StripeSandbox, request: Request) -> Response:
    return api.ok(_create(api, request))


def _update(api: StripeSandbox, request: Request) -> Response:
    current = api.store.get("subscription", request.params["id"])
    form = api.form(request)
    p.only(form, UPDATE)
    if current["status"] in _ENDED and set(form) - {"metadata", "expand"}:
        raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    subscription = copy.deepcopy(current)  # all or nothing: a failing item leaves the stored one as it was
    _apply(api, subscription, form)
    api.store.save(subscription)
    previous = changed(current, subscription)
    if previous:
        api.emit(request, "customer.subscription.updated", subscription, previous)
    return api.ok(subscription)


def _cancel(api: StripeSandbox, request: Request) -> Response:
    subscription = api.store.get("subscription", request.params["id"])
    p.only(api.form(request), ("invoice_now", "prorate", "cancellation_details", "expand"))
    if subscription["status"] in _ENDED:
        raise StripeError(400, f"This subscription has already been canceled: {subscription['id']}.")
    return api.ok(billing.end_now(api, subscription, request=request))


def _listing(api: StripeSandbox, request: Request) -> Response:
    query = api.form(request)
    p.only(query, ("limit", "starting_after", "ending_before", "customer", "price", "status", "expand"))
    return api.ok(api.store.list_page("subscription", "/v1/subscriptions", query,
                                      api.store.newest_first("subscription", _filter(query))))


def _search(api: StripeSandbox, request: Request) -> Response:
    query = api.form(request)
    p.only(query, ("query", "limit", "page", "expand"))
    return api.ok(api.store.search_page("/v1/subscriptions/search", query,
                                        api.store.newest_first("subscription"), SEARCH_FIELDS))


def _retrieve(api: StripeSandbox, request: Request) -> Response:
    return api.ok(api.store.get("subscription", request.params["id"]))


ROUTES = (("POST", "/v1/subscriptions", _create_route), ("GET", "/v1/subscriptions", _listing),
          ("GET", "/v1/subscriptions/search", _search),
          ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", _retrieve),
          ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", _update),
          ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", _cancel))


def _create(api: StripeSandbox, request: Request) -> Obj:
    form = api.form(request)
    p.only(form, CREATE)
    if "items" not in form:
        raise missing_param("items")
    customer = _customer(api, p.text(form, "customer", required=True) or "")
    subscription = _new(api, customer["id"])
    _apply(api, subscription, form)
    currency = p.text(form, "currency")
    if currency and currency.lower() != subscription["currency"]:
        raise StripeError(400, "The currency of the subscription must match the currency of its prices.",
                          param="currency")
    subscription["status"] = "active" if subscription["collection_method"] == "send_invoice" else "incomplete"
    customer["currency"] = customer["currency"] or subscription["currency"]
    subscription["latest_invoice"] = billing.new_invoice(api, subscription, "subscription_create")["id"]
    api.store.save(subscription)
    api.emit(request, "customer.subscription.created", subscription)
    return subscription


def _customer(api: StripeSandbox, customer_id: str) -> Obj:
    customer = api.store.objects.get("customer", {}).get(customer_id)
    if customer is None or customer.get("deleted"):
        raise StripeError(400, f"No such customer: '{customer_id}'", code="resource_missing", param="customer")
    return customer


def _new(api: StripeSandbox, customer_id: str) -> Obj:
    subscription = api.store.new("sub", "subscription")
    now = subscription["created"]
    subscription.update(
        application=None, billing_cycle_anchor=now, cancel_at=None, cancel_at_period_end=False, canceled_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method="charge_automatically", currency=None, current_period_start=now, current_period_end=now,
        customer=customer_id, days_until_due=None, default_payment_method=None, description=None, discount=None,
        ended_at=None, items={"object": "list", "data": [], "has_more": False, "total_count": 0,
                              "url": f"/v1/subscription_items?subscription={subscription['id']}"},
        latest_invoice=None, pause_collection=None, start_date=now, status="incomplete", trial_end=None,
        trial_start=None)
    return subscription


def _apply(api: StripeSandbox, subscription: Obj, form: dict[str, Any]) -> None:
    if "items" in form:
        apply_items(api.store, subscription, form["items"])
        first = subscription["items"]["data"][0]["price"]
        subscription["currency"] = first["currency"]
        if subscription["current_period_end"] == subscription["current_period_start"]:  # a new subscription
            recurring = first["recurring"]
            subscription["current_period_end"] = billing.add_interval(
                subscription["current_period_start"], recurring["interval"], recurring["interval_count"])
    _collection(subscription, form)
    _cancellation(subscription, form)
    if "pause_collection" in form:
        subscription["pause_collection"] = _pause(p.hash_(form, "pause_collection"))
    if "description" in form:
        subscription["description"] = p.text(form, "description") or None
    subscription["metadata"] = p.metadata(subscription["metadata"], form.get("metadata"))


def _collection(subscription: Obj, form: dict[str, Any]) -> None:
    if "collection_method" in form:
        subscription["collection_method"] = p.choice(form, "collection_method",
                                                     ("charge_automatically", "send_invoice"))
    if "days_until_due" in form:
        subscription["days_until_due"] = p.integer(form, "days_until_due", minimum=0)
    if subscription["collection_method"] == "send_invoice" and subscription["days_until_due"] is None:
        raise missing_param("days_until_due")


def _cancellation(subscription: Obj, form: dict[str, Any]) -> None:
    at_end = p.boolean(form, "cancel_at_period_end")
    if at_end is not None:
        subscription["cancel_at_period_end"] = at_end
        subscription["cancel_at"] = subscription["current_period_end"] if at_end else None
    if "cancel_at" in form:
        subscription["cancel_at"] = p.integer(form, "cancel_at", minimum=0)
        subscription["cancel_at_period_end"] = False


def _pause(value: dict[str, Any] | str | None) -> Obj | None:
    if not value:
        return None  # pause_collection="" resumes collection
    assert isinstance(value, dict)
    p.only(value, ("behavior", "resumes_at"), "pause_collection")
    behavior = p.choice(value, "behavior", ("keep_as_draft", "mark_uncollectible", "void"), required=True,
                        label="pause_collection[behavior]")
    return {"behavior": behavior, "resumes_at": p.integer(value, "resumes_at", label="pause_collection[resumes_at]")}


def _filter(query: dict[str, Any]) -> Any:
    status = p.choice(query, "status", ("active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                                        "past_due", "paused", "trialing", "unpaid"))
    customer, price = p.text(query, "customer"), p.text(query, "price")

    def keep(sub: Obj) -> bool:
        if status is None and sub["status"] in _ENDED:  # by default Stripe lists subscriptions not canceled
            return False
        if status not in (None, "all") and sub["status"] != ("canceled" if status == "ended" else status):
            return False
        return (customer is None or sub["customer"] == customer) and (
            price is None or any(item["price"]["id"] == price for item in sub["items"]["data"]))

    return keep

