"""Subscriptions at Stripe: created and amended by items, cancelled now or later, paused to suspend."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.billing.stripe import mapping
from adapters.billing.stripe._accounts import _data
from adapters.billing.stripe._base import StripeGatewayBase, mapping_errors, search_query
from adapters.billing.stripe.client import Answer
from adapters.billing.stripe.mapping.common import check_id
from domain.canonical import BillingSubscription, SubscriptionRequest

_ENDED = ("canceled", "incomplete_expired")


class SubscriptionOps(StripeGatewayBase):
    def find_subscription(self, order_crm_id: str) -> BillingSubscription | None:
        """By search on metadata[crm_order_id] (consistent within about a minute, like find_account).
        Several matches (an order cancelled and subscribed again): the newest live one, else the newest."""
        with mapping_errors():
            order_crm_id = check_id("order_crm_id", order_crm_id)
        answer = self.http.get("/v1/subscriptions/search",
                               {"query": search_query(mapping.ORDER_KEY, order_crm_id), "limit": 100})
        found = _data(answer.body)
        if not found:
            return None
        best = max(found, key=lambda sub: (sub.get("status") not in _ENDED, _int(sub.get("created"))))
        return self._subscription(Answer(best, answer.version))

    def get_subscription(self, billing_id: str) -> BillingSubscription:
        return self._subscription(self.http.get(f"/v1/subscriptions/{billing_id}"))

    def create_subscription(self, request: SubscriptionRequest, idempotency_key: str) -> BillingSubscription:
        with mapping_errors():
            params = mapping.subscription_create_params(request, self.days_until_due)
        return self._subscription(self.http.post("/v1/subscriptions", params, idempotency_key))

    def amend_subscription(self, billing_id: str, request: SubscriptionRequest,
                           idempotency_key: str) -> BillingSubscription:
        current = self.http.get(f"/v1/subscriptions/{billing_id}")
        with mapping_errors():
            params = mapping.subscription_amend_params(current.body, request)
        # The params depend on the current items: after a crash between Stripe's answer and ours, they
        # would differ under the same key (an idempotency_error). An amendment already applied is a no-op.
        if _already(current.body, params):
            return self._subscription(current)
        return self._subscription(self.http.post(f"/v1/subscriptions/{billing_id}", params, idempotency_key))

    def cancel_subscription(self, billing_id: str, effective: date, idempotency_key: str) -> BillingSubscription:
        current = self.http.get(f"/v1/subscriptions/{billing_id}")
        if current.body.get("status") in _ENDED:
            return self._subscription(current)
        with mapping_errors():
            action, params = mapping.cancel_plan(effective, self.today(), mapping.period_end(current.body))
        if action == "delete":
            return self._subscription(self.http.delete(f"/v1/subscriptions/{billing_id}"))
        return self._subscription(self.http.post(f"/v1/subscriptions/{billing_id}", params, idempotency_key))

    def suspend_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        return self._subscription(self.http.post(f"/v1/subscriptions/{billing_id}", mapping.SUSPEND_PARAMS,
                                                 idempotency_key))

    def resume_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        return self._subscription(self.http.post(f"/v1/subscriptions/{billing_id}", mapping.RESUME_PARAMS,
                                                 idempotency_key))

    @staticmethod
    def _subscription(answer: Answer) -> BillingSubscription:
        with mapping_errors():
            return mapping.subscription_to_canonical(answer.body, answer.version)


def _already(current: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """True when every item change in `params` is already what Stripe holds (nothing added or deleted)."""
    held = {item.sku: item for item in mapping.subscription_to_canonical(current).items}
    by_id = {str(item.get("id")): item for item in (current.get("items") or {}).get("data", [])}
    for change in params["items"]:
        if "id" not in change or change.get("deleted"):
            return False
        item = by_id.get(change["id"])
        sku = ((item or {}).get("metadata") or {}).get("sku")
        wanted_price = change.get("price", held[sku].price_id if sku in held else None)
        if sku not in held or (held[sku].price_id, held[sku].quantity) != (wanted_price, change["quantity"]):
            return False
    meta = current.get("metadata") or {}
    return all(meta.get(key) == value for key, value in params["metadata"].items())


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0
