"""A billing user on the vendor sandbox, over the vendor's raw API (not concord's adapter): reads what
concord wrote, records payment outcomes (the sandboxes' admin endpoints), cancels as a billing clerk."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import httpx


class BillingUser(Protocol):
    vendor: str

    def account(self, billing_id: str) -> dict[str, Any]: ...
    def prices(self, product_id: str) -> list[tuple[Decimal, bool]]: ...
    def subscription_state(self, billing_id: str) -> str: ...
    def payment(self, account_number: str, subscription_id: str, failed: bool) -> None: ...
    def cancel(self, subscription_id: str, subscription_number: str, account_number: str) -> None: ...


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} -> {response.status_code}: "
            f"{response.text[:300]}"
        )
    body = response.json() if response.content else {}
    if (
        isinstance(body, dict) and body.get("success") is False
    ):  # Zuora's 200 with success:false (VENDORS §0 #7)
        raise RuntimeError(f"{response.request.url.path}: {body.get('reasons')}")
    return body


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


class ZuoraUser:
    vendor = "zuora"

    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        token = _ok(
            httpx.post(
                f"{url}/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret,
                },
            )
        )
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30
        )

    def account(self, billing_id: str) -> dict[str, Any]:
        body = _ok(self.http.get(f"/v1/accounts/{billing_id}"))
        return {
            "name": body["basicInfo"]["name"],
            "number": body["basicInfo"]["accountNumber"],
            "email": (body.get("billToContact") or {}).get("workEmail"),
            "city": (body.get("billToContact") or {}).get("city"),
        }

    def prices(self, product_id: str) -> list[tuple[Decimal, bool]]:
        body = _ok(self.http.get(f"/v1/catalog/product/{product_id}"))
        found = []
        for plan in body.get("productRatePlans", []):
            active = plan.get("status") == "Active"  # the sandbox's catalog: Expired once its end date passed
            for charge in plan.get("productRatePlanCharges", []):
                for tier in charge.get("pricing", []):
                    found.append((Decimal(str(tier.get("price"))), active))
        return found

    def subscription_state(self, billing_id: str) -> str:
        return str(_ok(self.http.get(f"/v1/subscriptions/{billing_id}")).get("status"))

    def payment(self, account_number: str, subscription_id: str, failed: bool) -> None:
        _ok(
            self.http.post(
                "/__sandbox/payments",
                json={"accountNumber": account_number, "outcome": "failed" if failed else "processed"},
            )
        )

    def cancel(self, subscription_id: str, subscription_number: str, account_number: str) -> None:
        """A CancelSubscription order action effective today, as a billing clerk places it."""
        today = _today()
        action = {"type": "CancelSubscription",
                  "triggerDates": [{"name": n, "triggerDate": today}
                                   for n in ("ContractEffective", "ServiceActivation", "CustomerAcceptance")],
                  "cancelSubscription": {"cancellationPolicy": "SpecificDate",
                                         "cancellationEffectiveDate": today}}
        _ok(self.http.post("/v1/orders", json={
            "orderDate": today, "existingAccountNumber": account_number,
            "subscriptions": [{"subscriptionNumber": subscription_number, "orderActions": [action]}]}))


class StripeUser:
    vendor = "stripe"

    def __init__(self, url: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30)

    def account(self, billing_id: str) -> dict[str, Any]:
        body = _ok(self.http.get(f"/v1/customers/{billing_id}"))
        return {
            "name": body.get("name"),
            "number": body.get("id"),
            "email": body.get("email"),
            "city": (body.get("address") or {}).get("city"),
        }

    def prices(self, product_id: str) -> list[tuple[Decimal, bool]]:
        body = _ok(self.http.get("/v1/prices", params={"product": product_id, "limit": 100}))
        return [(Decimal(price["unit_amount"]) / 100, bool(price["active"])) for price in body["data"]]

    def subscription_state(self, billing_id: str) -> str:
        body = _ok(self.http.get(f"/v1/subscriptions/{billing_id}"))
        return "paused (pause_collection)" if body.get("pause_collection") else str(body.get("status"))

    def payment(self, account_number: str, subscription_id: str, failed: bool) -> None:
        _ok(
            self.http.post(
                "/__sandbox/invoices",
                json={"subscription": subscription_id, "outcome": "payment_failed" if failed else "paid"},
            )
        )

    def cancel(self, subscription_id: str, subscription_number: str, account_number: str) -> None:
        _ok(self.http.delete(f"/v1/subscriptions/{subscription_id}"))


def billing_user(vendor: str, urls: dict[str, str], credentials: dict[str, dict[str, str]]) -> BillingUser:
    if vendor == "stripe":
        return StripeUser(urls["stripe"], credentials["stripe"]["api_key"])
    return ZuoraUser(urls["zuora"], credentials["zuora"]["client_id"], credentials["zuora"]["client_secret"])
