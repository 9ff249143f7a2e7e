"""Zuora as the billing side of the chaos run: its sandbox with callouts to the event gateway's Zuora
route, concord's Zuora adapter, a billing clerk (raw API), and reads for the comparison (raw API).
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import httpx

from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
from adapters.billing.zuora.mapping import account_from_zuora
from adapters.outbound import RetryPolicy
from application.gateway.webhooks import handle_zuora_callout
from domain.canonical import ACCOUNT_FIELDS, BillingAccount
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.chaos.harness.actors import Session
from tests.chaos.harness.routing import Bus, WebhookEndpoint

CLIENT_ID, SECRET = "chaos-zuora-client", "chaos-zuora-secret"
CALLOUT_USER, CALLOUT_PASSWORD = "zuora-callouts", "callout-secret"


class ZuoraSide:
    name = "zuora"
    # Zuora keeps no tax id (without Zuora Tax), and its account status is its own lifecycle.
    shared_fields = tuple(name for name in ACCOUNT_FIELDS if name not in ("tax_id", "status"))

    def __init__(self, bus: Bus, http: httpx.Client) -> None:
        self.endpoint = WebhookEndpoint(self._accept, bus)
        self.sandbox = ZuoraSandbox(
            CLIENT_ID,
            SECRET,
            callout_url=self.endpoint.url,
            callout_user=CALLOUT_USER,
            callout_password=CALLOUT_PASSWORD,
            callout_retry_delay_s=0.01,
        )
        self.url, self.http = self.sandbox.start(), http
        self.clerk = Session(
            self.url,
            "/oauth/token",
            {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET},
            {},
        )

    def _accept(self, body: bytes, headers: Any) -> int:
        return handle_zuora_callout(
            self, self.endpoint.idempotency, self.endpoint.bus, body, headers.get("Authorization")
        )[0]

    def credentials(self) -> Sequence[tuple[str, str]]:  # CalloutCredentials of the gateway route
        return [(CALLOUT_USER, CALLOUT_PASSWORD)]

    def gateway(self, attempts: int) -> ZuoraBilling:
        tokens = ZuoraAuth(self.url, CLIENT_ID, SECRET, client=self.http).tokens()
        client = ZuoraClient(
            self.url,
            tokens=tokens,
            client=self.http,
            retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.002, max_delay_s=0.01),
        )
        return ZuoraBilling(client, today=self.today)

    def today(self) -> date:
        """Zuora dates are the tenant's (UTC-08:00 here), not the machine's: a plan retired "today" by
        the machine's date could stay Active in the tenant for up to a day."""
        return date.fromisoformat(self.sandbox.tenant.today())

    def refresh_tokens(self, gateway: ZuoraBilling) -> None:
        tokens = gateway.client.tokens
        assert tokens is not None
        tokens.invalidate("zuora", tokens.token("zuora"))

    def expire_tokens(self) -> None:
        self.sandbox.expire_tokens()

    def flush(self) -> None:
        self.sandbox.wait_for_callouts(10)

    def fault_stats(self) -> Counter[str]:
        stats = self.sandbox.stats
        return Counter(
            {
                "5xx": stats["fault:5xx"],
                "429": stats["fault:429"],
                "events_dropped": stats["fault:drop_event"],
                "events_duplicated": stats["fault:duplicate_event"],
            }
        )

    # -- the billing clerk -----------------------------------------------------------------------
    def live_subscriptions(self) -> list[dict[str, Any]]:
        """The clerk's screen: subscriptions Active or Suspended, as {id, active, account}."""
        with self.sandbox.lock:
            return [
                {
                    "id": s["subscriptionNumber"],
                    "active": s["status"] == "Active",
                    "account": s["accountNumber"],
                }
                for s in self.sandbox.tenant.subscriptions.values()
                if s["status"] in ("Active", "Suspended")
            ]

    def cancel(self, subscription: dict[str, Any]) -> None:
        today = self.sandbox.tenant.today()
        triggers = [
            {"name": n, "triggerDate": today}
            for n in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")
        ]
        self.clerk.call(
            "POST",
            "/v1/orders",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={
                "orderDate": today,
                "existingAccountNumber": subscription["account"],
                "subscriptions": [
                    {
                        "subscriptionNumber": subscription["id"],
                        "orderActions": [
                            {
                                "type": "CancelSubscription",
                                "triggerDates": triggers,
                                "cancelSubscription": {
                                    "cancellationPolicy": "SpecificDate",
                                    "cancellationEffectiveDate": today,
                                },
                            }
                        ],
                    }
                ],
            },
        )

    def payment(self, subscription: dict[str, Any], failed: bool) -> None:
        self.clerk.call(
            "POST",
            "/__sandbox/payments",
            json={"accountNumber": subscription["account"], "outcome": "failed" if failed else "processed"},
        )

    # -- reads for the comparison (raw API, adapters' pure mapping) ---------------------------
    def _rows(self, path: str, extra: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        params, found, cursor = [*(extra or []), ("pageSize", "99")], [], None
        while True:
            body = self.clerk.call("GET", path, params=[*params, *([("cursor", cursor)] if cursor else [])])
            found.extend(body["data"])
            cursor = body.get("nextPage")
            if not cursor:
                return found

    def accounts(self) -> list[BillingAccount]:
        return [
            account_from_zuora(r)
            for r in self._rows("/object-query/accounts", [("expand[]", "billto"), ("expand[]", "soldto")])
        ]

    def subscriptions_by_order(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for row in self._rows("/object-query/subscriptions"):
            found[str(row.get("CrmOrderId__c"))].add(str(row["subscriptionNumber"]))
        return found

    def subscription(self, number: str) -> tuple[str, str | None, Counter[str]]:
        """(canonical status, the account's CRM id, live quantities by sku)."""
        sub = self.clerk.call("GET", f"/v1/subscriptions/{number}")
        quantities: Counter[str] = Counter()
        for plan in sub.get("ratePlans") or []:
            if plan.get("lastChangeType") != "Remove":
                for charge in plan.get("ratePlanCharges") or []:
                    quantities[plan["productSku"]] += int(charge.get("quantity") or 0)
        crm_id = self.clerk.call("GET", f"/object-query/accounts/{sub['accountId']}").get("crmId")
        return str(sub["status"]).lower(), crm_id, quantities

    def catalog(self, sku: str) -> tuple[str, set[tuple[str, Decimal]]]:
        """The product's name and its active prices (currency, amount)."""
        body = self.clerk.call("GET", f"/v1/catalog/product/{sku}")
        prices = {
            (tier["currency"], Decimal(str(tier["price"])))
            for plan in body["productRatePlans"]
            if plan["status"] == "Active"
            for charge in plan["productRatePlanCharges"]
            for tier in charge["pricing"]
        }
        return str(body["name"]), prices

    def stop(self) -> None:
        self.sandbox.stop()
        self.endpoint.stop()
