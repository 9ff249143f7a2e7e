"""Orders API bodies (POST /v1/orders) that create, amend, suspend, resume and cancel subscriptions.

Rules:
- Every order names the account by `existingAccountNumber` and carries `processingOptions` with
  billing and payment collection off: concord syncs subscriptions, Zuora's bill runs bill them.
- CreateSubscription: a TERMED term of `term_months` months from the effective date, auto-renewing
  for the same term, one `subscribeToRatePlans` entry per item with its quantity as a Per Unit
  charge override. The CRM order id is kept in the subscription custom field `CrmOrderId__c`
  (a tenant must define it: Settings > Custom Fields > Subscription, text, 255).
- Amendments compare the wanted items with the subscription's current rate plans by price id:
  a changed quantity is an UpdateProduct, a new price an AddProduct, a missing one a RemoveProduct.
- Suspend and Resume take effect on the given day (SpecificDate); Cancel at the effective date
  (cancellationPolicy SpecificDate).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.billing.zuora.mapping.catalog import split_price_id
from adapters.billing.zuora.mapping.common import identifier, iso_date
from adapters.billing.zuora.mapping.subscriptions import ORDER_FIELD, current_charges
from domain.canonical import SubscriptionItem, SubscriptionRequest
from domain.errors import ValidationError

_PROCESSING = {"runBilling": False, "collectPayment": False}


def _trigger_dates(day: date) -> list[dict[str, str]]:
    return [{"name": name, "triggerDate": iso_date(day)}
            for name in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")]


def _order(account_number: str, order_date: date, subscription: dict[str, Any]) -> dict[str, Any]:
    return {"orderDate": iso_date(order_date), "existingAccountNumber": account_number,
            "subscriptions": [subscription], "processingOptions": dict(_PROCESSING)}


def _check_items(items: tuple[SubscriptionItem, ...]) -> None:
    if not items:
        raise ValidationError("items", "a subscription needs at least one item")
    seen: set[str] = set()
    for index, item in enumerate(items):
        if isinstance(item.quantity, bool) or not isinstance(item.quantity, int) or item.quantity <= 0:
            raise ValidationError(f"items[{index}].quantity", "must be a positive whole number")
        split_price_id(item.price_id)
        if item.price_id in seen:
            raise ValidationError(f"items[{index}].price_id", "appears twice; give one item a total quantity")
        seen.add(item.price_id)


def _rate_plan(item: SubscriptionItem) -> dict[str, Any]:
    plan_id, charge_id = split_price_id(item.price_id)
    return {"productRatePlanId": plan_id, "chargeOverrides": [
        {"productRatePlanChargeId": charge_id, "pricing": {"recurringPerUnit": {"quantity": item.quantity}}}]}


def create_order(request: SubscriptionRequest, account_number: str) -> dict[str, Any]:
    """CreateSubscription for a CRM order; the order date is the subscription's effective date."""
    _check_items(request.items)
    if request.term_months <= 0:
        raise ValidationError("term_months", "must be positive")
    day = request.effective_date
    create = {"terms": {"initialTerm": {"termType": "TERMED", "period": request.term_months,
                                        "periodType": "Month", "startDate": iso_date(day)},
                        "autoRenew": True, "renewalSetting": "RENEW_WITH_SPECIFIC_TERM",
                        "renewalTerms": [{"period": request.term_months, "periodType": "Month"}]},
              "subscribeToRatePlans": [_rate_plan(item) for item in request.items]}
    subscription = {"customFields": {ORDER_FIELD: identifier("order_crm_id", request.order_crm_id, "crmId")},
                    "orderActions": [{"type": "CreateSubscription", "triggerDates": _trigger_dates(day),
                                      "createSubscription": create}]}
    return _order(account_number, day, subscription)


def amend_actions(subscription: Mapping[str, Any], items: tuple[SubscriptionItem, ...],
                  day: date) -> list[dict[str, Any]]:
    """UpdateProduct / AddProduct / RemoveProduct actions turning the current items into `items`."""
    _check_items(items)
    current = {charge.price_id: charge for charge in current_charges(subscription)}
    actions: list[dict[str, Any]] = []
    for item in items:
        existing = current.get(item.price_id)
        if existing is None:
            actions.append({"type": "AddProduct", "triggerDates": _trigger_dates(day), "addProduct": _rate_plan(item)})
        elif existing.quantity != item.quantity:
            update = {"ratePlanId": existing.rate_plan_id, "chargeUpdates": [
                {"chargeNumber": existing.charge_number,
                 "pricing": {"recurringPerUnit": {"quantity": item.quantity}}}]}
            actions.append({"type": "UpdateProduct", "triggerDates": _trigger_dates(day), "updateProduct": update})
    wanted = {item.price_id for item in items}
    for price, existing in current.items():
        if price not in wanted:
            actions.append({"type": "RemoveProduct", "triggerDates": _trigger_dates(day),
                            "removeProduct": {"ratePlanId": existing.rate_plan_id}})
    return actions


def amend_order(subscription: Mapping[str, Any], request: SubscriptionRequest,
                account_number: str) -> dict[str, Any] | None:
    """The amendment order, or None when the subscription already has exactly these items."""
    actions = amend_actions(subscription, request.items, request.effective_date)
    if not actions:
        return None
    number = str(subscription.get("subscriptionNumber"))
    return _order(account_number, request.effective_date, {"subscriptionNumber": number, "orderActions": actions})


def suspend_order(number: str, account_number: str, day: date) -> dict[str, Any]:
    action = {"type": "Suspend", "triggerDates": _trigger_dates(day),
              "suspend": {"suspendPolicy": "SpecificDate", "suspendSpecificDate": iso_date(day)}}
    return _order(account_number, day, {"subscriptionNumber": number, "orderActions": [action]})


def resume_order(number: str, account_number: str, day: date) -> dict[str, Any]:
    action = {"type": "Resume", "triggerDates": _trigger_dates(day),
              "resume": {"resumePolicy": "SpecificDate", "resumeSpecificDate": iso_date(day), "extendsTerm": False}}
    return _order(account_number, day, {"subscriptionNumber": number, "orderActions": [action]})


def cancel_order(number: str, account_number: str, effective: date, order_date: date) -> dict[str, Any]:
    action = {"type": "CancelSubscription", "triggerDates": _trigger_dates(effective),
              "cancelSubscription": {"cancellationPolicy": "SpecificDate",
                                     "cancellationEffectiveDate": iso_date(effective)}}
    return _order(account_number, order_date, {"subscriptionNumber": number, "orderActions": [action]})
