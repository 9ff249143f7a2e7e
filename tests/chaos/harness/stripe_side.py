"""Stripe as the billing side of the chaos run: its sandbox with signed webhooks to the event gateway's
Stripe route, concord's Stripe adapter, a billing clerk (raw API), and reads for the comparison.

The sandbox's own rate limit (25 requests/s, Stripe's test mode) is raised here: the 1% injected 429s
are the throttling this run measures; at 25/s two workers and two people would spend the run waiting.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import httpx

from adapters.billing.stripe.client import StripeHttp
from adapters.billing.stripe.gateway import StripeBilling
from adapters.billing.stripe.mapping.accounts import customer_to_account
from adapters.billing.stripe.mapping.catalog import price_to_spec, product_id_for
from adapters.billing.stripe.mapping.subscriptions import subscription_to_canonical
from adapters.outbound import RetryPolicy, StaticTokens
from application.gateway.webhooks import handle_stripe_webhook
from domain.canonical import ACCOUNT_FIELDS, BillingAccount
from entrypoints.lambdas._wiring_gateway import StripeVerifier
from infrastructure.sandboxes.stripe import StripeSandbox
from tests.chaos.harness.actors import _call
from tests.chaos.harness.routing import Bus, WebhookEndpoint

API_KEY, SIGNING_SECRET = "rk_test_chaos", "whsec_chaos"


class StripeSide:
    name = "stripe"
    shared_fields = tuple(ACCOUNT_FIELDS)  # Stripe holds them all (some in metadata)

    def __init__(self, bus: Bus, http: httpx.Client) -> None:
        self.endpoint = WebhookEndpoint(self._accept, bus)
        self.verifier = StripeVerifier(lambda: [SIGNING_SECRET])
        self.sandbox = StripeSandbox(
            [API_KEY],
            webhook_url=self.endpoint.url,
            webhook_secrets=[SIGNING_SECRET],
            rate_limit_per_s=100_000,
            webhook_retry_delays_s=(0.01, 0.05, 0.1),
        )
        self.url, self.http = self.sandbox.start(), http
        self.clerk = httpx.Client(
            base_url=self.url, timeout=30, headers={"Authorization": f"Bearer {API_KEY}"}
        )

    def _accept(self, body: bytes, headers: Any) -> int:
        return handle_stripe_webhook(
            self.verifier, self.endpoint.idempotency, self.endpoint.bus, body, headers.get("Stripe-Signature")
        )[0]

    def gateway(self, attempts: int) -> StripeBilling:
        return StripeBilling(
            StripeHttp(
                self.url,
                tokens=StaticTokens({"stripe": API_KEY}),
                client=self.http,
                retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.002, max_delay_s=0.01),
            )
        )

    def refresh_tokens(self, gateway: StripeBilling) -> None:
        """A restricted key does not expire."""

    def expire_tokens(self) -> None:
        """Stripe keys do not expire (the sandbox's expire-tokens revokes the key: another test)."""

    def flush(self) -> None:
        """Until no webhook is due (the sandbox's deliverer has no drain of its own: read its queue)."""
        deadline = time.monotonic() + 10
        while self.sandbox.events._due and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.02)  # the last one popped may still be on the wire

    def fault_stats(self) -> Counter[str]:
        stats = self.sandbox.stats
        return Counter(
            {
                "5xx": stats["fault:5xx"],
                "429": stats["fault:429"],
                "events_dropped": stats["fault:event_drop"],
                "events_duplicated": stats["fault:event_duplicate"],
            }
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return _call(self.clerk, method, path, **kwargs)

    # -- the billing clerk -----------------------------------------------------------------------
    def live_subscriptions(self) -> list[dict[str, Any]]:
        with self.sandbox.lock:
            subscriptions = list(self.sandbox.store.objects.get("subscription", {}).values())
            return [
                {
                    "id": s["id"],
                    "active": not s.get("pause_collection") and s["status"] == "active",
                    "account": s["customer"],
                }
                for s in subscriptions
                if s["status"] not in ("canceled", "incomplete_expired")
            ]

    def cancel(self, subscription: dict[str, Any]) -> None:
        self._call("DELETE", f"/v1/subscriptions/{subscription['id']}")

    def payment(self, subscription: dict[str, Any], failed: bool) -> None:
        self._call(
            "POST",
            "/__sandbox/invoices",
            json={"subscription": subscription["id"], "outcome": "payment_failed" if failed else "paid"},
        )

    # -- reads for the comparison (raw API, adapters' pure mapping) ---------------------------
    def _list(self, path: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            body = self._call("GET", path, params={"limit": 100, **params})
            found.extend(body["data"])
            if not body.get("has_more"):
                return found
            params["starting_after"] = body["data"][-1]["id"]

    def accounts(self) -> list[BillingAccount]:
        return [customer_to_account(c) for c in self._list("/v1/customers")]

    def subscriptions_by_order(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for sub in self._list("/v1/subscriptions", status="all"):
            found[str((sub.get("metadata") or {}).get("crm_order_id"))].add(sub["id"])
        return found

    def subscription(self, sub_id: str) -> tuple[str, str | None, Counter[str]]:
        canonical = subscription_to_canonical(self._call("GET", f"/v1/subscriptions/{sub_id}"))
        crm_id = self._call("GET", f"/v1/customers/{canonical.account_billing_id}").get("metadata") or {}
        quantities: Counter[str] = Counter()
        for item in canonical.items:
            quantities[item.sku] += item.quantity
        return canonical.status, crm_id.get("crm_id"), quantities

    def catalog(self, sku: str) -> tuple[str, set[tuple[str, Decimal]]]:
        product_id = product_id_for(sku)
        name = str(self._call("GET", f"/v1/products/{product_id}")["name"])
        prices = {
            (spec.amount.currency, spec.amount.amount)
            for spec in (
                price_to_spec(p) for p in self._list("/v1/prices", product=product_id) if p["active"]
            )
        }
        return name, prices

    def stop(self) -> None:
        self.sandbox.stop()
        self.endpoint.stop()
