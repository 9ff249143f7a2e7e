"""POST /v1/orders: atomic orders over subscriptions (VENDORS §2 Orders).

An order names its account by `existingAccountNumber`, holds at most 50 subscriptions, and either
all its actions apply or none do. Each order makes one new version of each subscription it
touches (a new subscription id, the number stays). Subscriptions are numbered A-S00000001...
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from infrastructure.sandboxes.zuora.errors import INVALID, MISSING, NOT_FOUND, UNKNOWN_FIELD, ZuoraFailure
from infrastructure.sandboxes.zuora.order_actions import ACTIONS, add_months, fail, iso_day, rate_plan, trigger
from infrastructure.sandboxes.zuora.state import Tenant

MAX_SUBSCRIPTIONS = 50
TERM_TYPES = ("TERMED", "EVERGREEN")


def _check_order(tenant: Tenant, body: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(body, Mapping):
        raise fail(INVALID, "The request body must be a JSON object")
    for required in ("orderDate", "existingAccountNumber", "subscriptions"):
        if not body.get(required):
            raise fail(MISSING, f"Missing required field: {required}")
    account = tenant.account(str(body["existingAccountNumber"]))
    if account is None or account["accountNumber"] != body["existingAccountNumber"]:
        raise ZuoraFailure("order", NOT_FOUND, f"Account {body['existingAccountNumber']} does not exist")
    if not isinstance(body["subscriptions"], list) or len(body["subscriptions"]) > MAX_SUBSCRIPTIONS:
        raise fail(INVALID, f"'subscriptions' must be a list of at most {MAX_SUBSCRIPTIONS}")
    return account, iso_day(body["orderDate"], "orderDate")


def _terms(create: Mapping[str, Any]) -> tuple[str, int, str]:
    initial = (create.get("terms") or {}).get("initialTerm") or {}
    if initial.get("termType") not in TERM_TYPES:
        raise fail(INVALID, "'termType' value should be one of: TERMED, EVERGREEN")
    period = initial.get("period", 12)
    if initial["termType"] == "TERMED" and (not isinstance(period, int) or period <= 0):
        raise fail(INVALID, f"'period' value is invalid: {period!r}")
    if initial.get("periodType", "Month") != "Month":
        raise fail(INVALID, "'periodType' value is not supported by this sandbox: use Month")
    return initial["termType"], period, initial.get("periodType", "Month")


def _custom_fields(raw: Any, allowed: frozenset[str]) -> dict[str, Any]:
    fields = dict(raw or {})
    for name, value in fields.items():
        if name not in allowed:
            raise ZuoraFailure("subscription", UNKNOWN_FIELD, f"Unknown field: customFields.{name}")
        if value is not None and (not isinstance(value, str) or len(value) > 255):
            raise ZuoraFailure("subscription", INVALID, f"'{name}' must be text of at most 255 characters")
    return fields


def new_subscription(tenant: Tenant, account: dict[str, Any], entry: Mapping[str, Any], action: Mapping[str, Any],
                     order_date: str, custom: frozenset[str]) -> dict[str, Any]:
    create = action.get("createSubscription") or {}
    start = trigger(action, "ContractEffective", order_date)
    term_type, period, period_type = _terms(create)
    entries = create.get("subscribeToRatePlans") or []
    if not entries:
        raise fail(MISSING, "Missing required field: subscribeToRatePlans")
    terms = create.get("terms") or {}
    end = add_months(start, period) if term_type == "TERMED" else None
    return {"id": tenant.new_id(), "subscriptionNumber": tenant.next_number("subscription"), "version": 0,
            "accountId": account["id"], "accountNumber": account["accountNumber"], "accountName": account["name"],
            "invoiceOwnerAccountNumber": account["accountNumber"], "status": "Active", "termType": term_type,
            "initialTerm": period, "initialTermPeriodType": period_type, "currentTerm": period,
            "currentTermPeriodType": period_type, "autoRenew": bool(terms.get("autoRenew", False)),
            "renewalSetting": terms.get("renewalSetting", "RENEW_WITH_SPECIFIC_TERM"),
            "contractEffectiveDate": start, "serviceActivationDate": trigger(action, "ServiceActivation", start),
            "customerAcceptanceDate": trigger(action, "CustomerAcceptance", start), "subscriptionStartDate": start,
            "termStartDate": start, "termEndDate": end, "subscriptionEndDate": end, "currency": account["currency"],
            **_custom_fields(entry.get("customFields"), custom),
            "ratePlans": [rate_plan(tenant, account, e, start) for e in entries]}


def _existing(tenant: Tenant, account: Mapping[str, Any], entry: Mapping[str, Any],
              touched: dict[str, dict[str, Any]]) -> dict[str, Any]:
    number = entry.get("subscriptionNumber")
    if not number:
        raise fail(MISSING, "Missing required field: subscriptions.subscriptionNumber")
    if number not in touched:
        found = tenant.subscription(str(number))
        if found is None or found["accountId"] != account["id"]:
            raise ZuoraFailure("subscription", NOT_FOUND, f"Subscription {number} does not exist on this account")
        touched[number] = copy.deepcopy(found)
    return touched[number]


def _apply(tenant: Tenant, account: dict[str, Any], entry: Mapping[str, Any], order_date: str,
           touched: dict[str, dict[str, Any]], custom: frozenset[str]) -> list[tuple[str, str]]:
    actions = entry.get("orderActions") or []
    if not actions:
        raise fail(MISSING, "Missing required field: orderActions")
    events: list[tuple[str, str]] = []
    for action in actions:
        kind = action.get("type")
        if kind == "CreateSubscription":
            sub = new_subscription(tenant, account, entry, action, order_date, custom)
            touched[sub["subscriptionNumber"]] = sub
            events.append(("SubscriptionCreated", sub["subscriptionNumber"]))
            continue
        if kind not in ACTIONS:
            raise fail(INVALID, f"'type' value should be one of: CreateSubscription, {', '.join(ACTIONS)}")
        sub = _existing(tenant, account, entry, touched)
        event = ACTIONS[kind](tenant, account, sub, action, trigger(action, "ContractEffective", order_date))
        if event:
            events.append((event, sub["subscriptionNumber"]))
    return events


def place_order(tenant: Tenant, body: Any, custom: frozenset[str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Validate and apply an order; returns the answer and the (event type, subscription number) pairs."""
    account, order_date = _check_order(tenant, body)
    touched: dict[str, dict[str, Any]] = {}
    events: list[tuple[str, str]] = []
    for entry in body["subscriptions"]:
        events.extend(_apply(tenant, account, entry, order_date, touched, custom))
    order_number, now = tenant.next_number("order"), tenant.stamp()
    for number, sub in touched.items():  # commit: one new version per subscription
        sub.update(id=tenant.new_id(), version=sub["version"] + 1, orderNumber=order_number, updatedDate=now)
        tenant.subscriptions[number] = sub
        tenant.subscription_ids[sub["id"]] = number
    numbers = list(touched)
    answer = {"orderNumber": order_number, "accountNumber": account["accountNumber"], "status": "Completed",
              "subscriptionNumbers": numbers,
              "subscriptions": [{"subscriptionNumber": n, "status": touched[n]["status"]} for n in numbers]}
    return answer, events
