"""A Salesforce user, over the sandbox's raw REST API (not concord's adapter): what a sales rep's
clicks in Salesforce would do. It calls as client "ui", so concord's echo suppression never hides it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

V = "/services/data/v60.0"


class CrmUser:
    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        answer = httpx.post(
            f"{url}/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=30,
        )
        answer.raise_for_status()
        headers = {
            "Authorization": f"Bearer {answer.json()['access_token']}",
            "Sforce-Call-Options": "client=ui",
        }
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(f"Salesforce answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        return str(self._ok(self.http.post(f"{V}/sobjects/{sobject}/", json=fields))["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        self._ok(self.http.patch(f"{V}/sobjects/{sobject}/{record_id}", json=fields))

    def read(self, sobject: str, record_id: str) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"{V}/sobjects/{sobject}/{record_id}")))

    def query(self, soql: str) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get(f"{V}/query", params={"q": soql}))["records"])

    def standard_pricebook(self) -> str:
        return str(self.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")[0]["Id"])

    def create_product(self, sku: str, name: str, currency: str, amount: Decimal) -> tuple[str, str]:
        """A product with its monthly list price in the standard price book: (product id, entry id)."""
        product = self.create("Product2", {"Name": name, "ProductCode": sku, "IsActive": True})
        entry = self.create(
            "PricebookEntry",
            {
                "Product2Id": product,
                "Pricebook2Id": self.standard_pricebook(),
                "CurrencyIsoCode": currency,
                "IsActive": True,
                "UnitPrice": float(amount),
                "Billing_Period__c": "Month",
            },
        )
        return product, entry

    def create_order(self, account: str, currency: str, entry: str, quantity: int, price: Decimal) -> str:
        """An order as Salesforce's UI makes one: Draft, then its product lines."""
        order = self.create(
            "Order",
            {
                "AccountId": account,
                "EffectiveDate": "2026-12-01",
                "Status": "Draft",
                "CurrencyIsoCode": currency,
                "Term_Months__c": 12,
            },
        )
        self.create(
            "OrderItem",
            {"OrderId": order, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": float(price)},
        )
        return order

    def close(self) -> None:
        self.http.close()
