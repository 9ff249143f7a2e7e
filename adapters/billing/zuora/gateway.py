"""ZuoraBilling: application.ports.BillingGateway on Zuora's REST API.

Reads go through object queries (`/object-query/accounts`, cursor paging, pageSize <= 99) and
GET /v1/subscriptions/{number}; writes through /v1/accounts, the Orders API and the CRUD catalog.
Ids: an account is its Zuora account id; a subscription its number (stable across versions); a
price "<productRatePlanId>:<productRatePlanChargeId>". The CRM order id lives in the subscription
custom field `CrmOrderId__c`, which the tenant must define (text, 255). Mapping rules: mapping/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from adapters.billing.zuora import mapping
from adapters.billing.zuora.client import ZuoraClient
from adapters.billing.zuora.gateway_catalog import CatalogOps, as_permanent, seg
from application.errors import PermanentError
from application.ports import Page
from domain.canonical import (
    ACCOUNT_FIELDS,
    BillingAccount,
    BillingSubscription,
    SubscriptionRequest,
)
from domain.errors import ValidationError

PAGE_MAX = 99  # Object Query's largest pageSize
# What a create + read gives back (mapping/accounts.py): `status` is Zuora's own lifecycle (read, never
# written) and `tax_id` has no home without Zuora Tax.
HELD_FIELDS = frozenset(ACCOUNT_FIELDS) - {"status", "tax_id"}
_EXPAND = [("expand[]", "billto"), ("expand[]", "soldto")]


class ZuoraBilling(CatalogOps):
    vendor = "zuora"
    account_fields = HELD_FIELDS

    def __init__(self, client: ZuoraClient, *, today: Callable[[], date] = date.today) -> None:
        self.client = client
        self._today = today

    # -- accounts ------------------------------------------------------------------------------
    def _raw_account(self, key: str) -> dict[str, Any]:
        return self.client.call("GET", f"/object-query/accounts/{seg(key)}", params=_EXPAND)

    def get_account(self, billing_id: str) -> BillingAccount:
        with as_permanent():
            return mapping.account_from_zuora(self._raw_account(billing_id))

    def find_account(self, crm_id: str) -> BillingAccount | None:
        body = self.client.call("GET", "/object-query/accounts",
                                params=[("filter[]", f"crmId.EQ:{crm_id}"), *_EXPAND, ("pageSize", "2")])
        found = (body or {}).get("data") or []
        if len(found) > 1:
            numbers = ", ".join(str(a.get("accountNumber")) for a in found)
            raise PermanentError(f"zuora accounts {numbers} all carry crmId {crm_id}: merge them in Zuora",
                                 system="zuora", code="DUPLICATE_CRM_ID", field="crmId")
        with as_permanent():
            return mapping.account_from_zuora(found[0]) if found else None

    def get_accounts(self, wanted: Mapping[str, str]) -> dict[str, BillingAccount]:
        """Object Query with `filter[]=id.IN:[...]` (developer.zuora.com, "Expand, filter, fields, and sort"),
        billTo/soldTo expanded, PAGE_MAX ids a request: one page each, about 3.3 kB of URL."""
        ids = list(dict.fromkeys(wanted))
        found: dict[str, BillingAccount] = {}
        for start in range(0, len(ids), PAGE_MAX):
            chunk = ",".join(ids[start:start + PAGE_MAX])
            cursor: str | None = None
            while True:
                params = [("filter[]", f"id.IN:[{chunk}]"), *_EXPAND, ("pageSize", str(PAGE_MAX))]
                body = self.client.call("GET", "/object-query/accounts",
                                        params=params + ([("cursor", cursor)] if cursor else [])) or {}
                with as_permanent():
                    for raw in body.get("data") or []:
                        account = mapping.account_from_zuora(raw)
                        found[account.billing_id] = account
                cursor = body.get("nextPage") or None
                if cursor is None:
                    break
        return found

    def create_account(self, crm_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        with as_permanent():
            payload = mapping.account_create_payload(crm_id, fields)
        body = self.client.call("POST", "/v1/accounts", json=payload, idempotency_key=idempotency_key)
        return self.get_account(str(body["accountId"]))

    def update_account(self, billing_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        current = self._raw_account(billing_id)
        with as_permanent():
            payload = mapping.account_update_payload(fields)
            wanted = fields.get("currency")
            if wanted is not None and str(wanted).strip().upper() != current.get("currency"):
                raise ValidationError("currency", f"Zuora cannot change account {billing_id}'s currency "
                                                  f"from {current.get('currency')} to {wanted}")
        if payload:  # PUT takes no idempotency key: it sets values, a repeat changes nothing
            self.client.call("PUT", f"/v1/accounts/{seg(billing_id)}", json=payload)
        return self.get_account(billing_id)

    def list_accounts(self, cursor: str | None, limit: int) -> Page[BillingAccount]:
        params: list[tuple[str, str]] = [*_EXPAND, ("pageSize", str(max(1, min(limit, PAGE_MAX))))]
        if cursor:
            params.append(("cursor", cursor))
        body = self.client.call("GET", "/object-query/accounts", params=params) or {}
        with as_permanent():
            items = [mapping.account_from_zuora(account) for account in body.get("data") or []]
        return Page(items, body.get("nextPage") or None)

    # -- subscriptions -------------------------------------------------------------------------
    def _raw_subscription(self, number: str) -> dict[str, Any]:
        return self.client.call("GET", f"/v1/subscriptions/{seg(number)}")

    def get_subscription(self, billing_id: str) -> BillingSubscription:
        with as_permanent():
            return mapping.subscription_from_zuora(self._raw_subscription(billing_id))

    def find_subscription(self, order_crm_id: str) -> BillingSubscription | None:
        body = self.client.call("GET", "/object-query/subscriptions",
                                params=[("filter[]", f"{mapping.ORDER_FIELD}.EQ:{order_crm_id}"), ("pageSize", "99")])
        # Object query may list one row per subscription version: the number is what identifies it.
        numbers = sorted({str(row.get("subscriptionNumber")) for row in (body or {}).get("data") or []})
        if len(numbers) > 1:
            raise PermanentError(f"zuora subscriptions {', '.join(numbers)} all carry order {order_crm_id}",
                                 system="zuora", code="DUPLICATE_ORDER_ID", field=mapping.ORDER_FIELD)
        return self.get_subscription(numbers[0]) if numbers else None

    def _submit(self, order: dict[str, Any], idempotency_key: str) -> list[str]:
        body = self.client.call("POST", "/v1/orders", json=order, idempotency_key=idempotency_key) or {}
        # Older API versions answer subscriptionNumbers, newer ones subscriptions[].subscriptionNumber.
        numbers = body.get("subscriptionNumbers") or [
            s.get("subscriptionNumber") for s in body.get("subscriptions") or []]
        return [str(n) for n in numbers if n]

    def create_subscription(self, request: SubscriptionRequest, idempotency_key: str) -> BillingSubscription:
        account = self._raw_account(request.account_billing_id)
        with as_permanent():
            order = mapping.create_order(request, str(account["accountNumber"]))
        numbers = self._submit(order, idempotency_key)
        if not numbers:
            raise PermanentError("zuora accepted the order but named no subscription", system="zuora", code="ORDER")
        return self.get_subscription(numbers[0])

    def amend_subscription(self, billing_id: str, request: SubscriptionRequest,
                           idempotency_key: str) -> BillingSubscription:
        current = self._raw_subscription(billing_id)
        with as_permanent():
            order = mapping.amend_order(current, request, str(current.get("accountNumber")))
            if order is None:
                return mapping.subscription_from_zuora(current)
        self._submit(order, idempotency_key)
        return self.get_subscription(billing_id)

    def _change(self, billing_id: str, build: Callable[[str, str], dict[str, Any]],
                idempotency_key: str) -> BillingSubscription:
        current = self._raw_subscription(billing_id)
        with as_permanent():
            order = build(str(current.get("subscriptionNumber")), str(current.get("accountNumber")))
        self._submit(order, idempotency_key)
        return self.get_subscription(billing_id)

    def cancel_subscription(self, billing_id: str, effective: date, idempotency_key: str) -> BillingSubscription:
        today = self._today()
        return self._change(billing_id, lambda n, a: mapping.cancel_order(n, a, effective, today), idempotency_key)

    def suspend_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        today = self._today()
        return self._change(billing_id, lambda n, a: mapping.suspend_order(n, a, today), idempotency_key)

    def resume_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        today = self._today()
        return self._change(billing_id, lambda n, a: mapping.resume_order(n, a, today), idempotency_key)
