"""The order actions a subscription goes through: create, add/update/remove products, suspend,
resume, cancel. Each works on a copy of the subscription; the order commits all or nothing."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, cast

from infrastructure.sandboxes.zuora.errors import INVALID, MISSING, RULE, ZuoraFailure
from infrastructure.sandboxes.zuora.state import Tenant

Action = Callable[[Tenant, dict[str, Any], dict[str, Any], Mapping[str, Any], str], str | None]
SUSPEND_POLICIES = frozenset({"Today", "EndOfLastInvoicePeriod", "SpecificDate", "FixedPeriodsFromToday"})
CANCEL_POLICIES = frozenset({"EndOfCurrentTerm", "EndOfLastInvoicePeriod", "SpecificDate"})


def fail(category: str, message: str) -> ZuoraFailure:
    return ZuoraFailure("order", category, message)


def iso_day(value: Any, name: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError as exc:
        raise fail(INVALID, f"'{name}' value is invalid: {value!r} is not a date (yyyy-mm-dd)") from exc


def add_months(day: str, months: int) -> str:
    start = date.fromisoformat(day)
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1])).isoformat()


def trigger(action: Mapping[str, Any], name: str, default: str) -> str:
    for entry in action.get("triggerDates") or []:
        if entry.get("name") == name:
            return iso_day(entry.get("triggerDate"), f"triggerDates.{name}")
    return default


def _charge(tenant: Tenant, charge: Mapping[str, Any], currency: str, quantity: Any, start: str) -> dict[str, Any]:
    price = next((p["price"] for p in charge["pricing"] if p["currency"] == currency), None)
    if price is None:
        raise fail(INVALID, f"charge {charge['id']} has no price in the account currency {currency}")
    record = {"id": tenant.new_id(), "productRatePlanChargeId": charge["id"], "number": tenant.next_number("charge"),
              "name": charge["name"], "type": charge["type"], "model": charge["model"], "uom": charge.get("uom"),
              "price": price, "currency": currency, "billingPeriod": charge["billingPeriod"],
              "effectiveStartDate": start}
    record["originalChargeId"] = record["id"]
    if charge["model"] == "PerUnit":
        record["quantity"] = check_quantity(quantity if quantity is not None else charge.get("defaultQuantity", 1))
    return record


def check_quantity(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise fail(INVALID, f"'quantity' value is invalid: {value!r}")
    return value


def rate_plan(tenant: Tenant, account: Mapping[str, Any], entry: Any, start: str) -> dict[str, Any]:
    """A subscription rate plan from a subscribeToRatePlans / addProduct entry."""
    plan = tenant.plans.get(str((entry or {}).get("productRatePlanId")))
    if plan is None:
        raise fail(INVALID, f"'productRatePlanId' value is invalid: {(entry or {}).get('productRatePlanId')}")
    if not plan["EffectiveStartDate"] <= start < plan["EffectiveEndDate"]:
        raise fail(RULE, f"product rate plan {plan['Id']} is not effective on {start}")
    charges = [c for c in tenant.charges.values() if c["productRatePlanId"] == plan["Id"]]
    if not charges:
        raise fail(RULE, f"product rate plan {plan['Id']} has no charge")
    overrides = {o.get("productRatePlanChargeId"): o for o in entry.get("chargeOverrides") or []}
    unknown = set(overrides) - {c["id"] for c in charges}
    if unknown:
        raise fail(INVALID, f"'productRatePlanChargeId' value is invalid: {sorted(map(str, unknown))}")
    product = tenant.products[plan["ProductId"]]
    quantities = {cid: ((o.get("pricing") or {}).get("recurringPerUnit") or {}).get("quantity")
                  for cid, o in overrides.items()}
    return {"id": tenant.new_id(), "productId": product["Id"], "productName": product["Name"],
            "productSku": product["SKU"], "productRatePlanId": plan["Id"], "ratePlanName": plan["Name"],
            "ratePlanCharges": [_charge(tenant, c, account["currency"], quantities.get(c["id"]), start)
                                for c in charges]}


def _live_plan(sub: Mapping[str, Any], plan_id: Any) -> dict[str, Any]:
    for plan in sub["ratePlans"]:
        if plan["id"] == plan_id and plan.get("lastChangeType") != "Remove":
            return cast(dict[str, Any], plan)
    raise fail(INVALID, f"'ratePlanId' value is invalid: {plan_id} is not a rate plan of {sub['subscriptionNumber']}")


def _require_status(sub: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    if sub["status"] not in allowed:
        raise fail(RULE, f"Cannot {what} subscription {sub['subscriptionNumber']} in status {sub['status']}")


def add_product(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
                day: str) -> str | None:
    _require_status(sub, ("Active", "Suspended"), "add a product to")
    plan = rate_plan(tenant, account, action.get("addProduct"), trigger(action, "ContractEffective", day))
    sub["ratePlans"].append({**plan, "lastChangeType": "Add"})
    return None


def update_product(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
                   day: str) -> str | None:
    _require_status(sub, ("Active", "Suspended"), "update a product of")
    update = action.get("updateProduct") or {}
    plan = _live_plan(sub, update.get("ratePlanId"))
    by_number = {c["number"]: c for c in plan["ratePlanCharges"]}
    for change in update.get("chargeUpdates") or []:
        charge = by_number.get(change.get("chargeNumber"))
        if charge is None:
            raise fail(INVALID, f"'chargeNumber' value is invalid: {change.get('chargeNumber')}")
        quantity = ((change.get("pricing") or {}).get("recurringPerUnit") or {}).get("quantity")
        if quantity is not None:
            charge["quantity"] = check_quantity(quantity)
    plan["lastChangeType"] = "Update"
    return None


def remove_product(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
                   day: str) -> str | None:
    _require_status(sub, ("Active", "Suspended"), "remove a product from")
    _live_plan(sub, (action.get("removeProduct") or {}).get("ratePlanId"))["lastChangeType"] = "Remove"
    return None


def suspend(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
            day: str) -> str | None:
    _require_status(sub, ("Active",), "suspend")
    body = action.get("suspend") or {}
    if body.get("suspendPolicy") not in SUSPEND_POLICIES:
        raise fail(INVALID, f"'suspendPolicy' value should be one of: {', '.join(sorted(SUSPEND_POLICIES))}")
    if body["suspendPolicy"] == "SpecificDate":
        sub["suspendDate"] = iso_day(body.get("suspendSpecificDate"), "suspendSpecificDate")
    sub["status"] = "Suspended"
    return "SubscriptionSuspended"


def resume(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
           day: str) -> str | None:
    _require_status(sub, ("Suspended",), "resume")
    if not (action.get("resume") or {}).get("resumePolicy"):
        raise fail(MISSING, "Missing required field: resume.resumePolicy")
    sub["status"], sub["resumeDate"] = "Active", day
    return "SubscriptionResumed"


def cancel(tenant: Tenant, account: dict[str, Any], sub: dict[str, Any], action: Mapping[str, Any],
           day: str) -> str | None:
    _require_status(sub, ("Active", "Suspended"), "cancel")
    body = action.get("cancelSubscription") or {}
    policy = body.get("cancellationPolicy")
    if policy not in CANCEL_POLICIES:
        raise fail(INVALID, f"'cancellationPolicy' value should be one of: {', '.join(sorted(CANCEL_POLICIES))}")
    end = sub["termEndDate"]
    if policy == "SpecificDate":
        end = iso_day(body.get("cancellationEffectiveDate"), "cancellationEffectiveDate")
    sub.update(status="Cancelled", subscriptionEndDate=end, termEndDate=end, cancelledDate=day)
    return "SubscriptionCancelled"


ACTIONS: dict[str, Action] = {"AddProduct": add_product, "UpdateProduct": update_product,
                              "RemoveProduct": remove_product, "Suspend": suspend, "Resume": resume,
                              "CancelSubscription": cancel}
