"""Salesforce test support: a sandbox, a raw REST session on it, and a seed acting as a CRM user.

The seed talks raw REST to the sandbox (not through the adapter under test), creating records the
way a user or Salesforce's UI would: an order is created Draft, gets its products, then is activated.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import httpx

from infrastructure.sandboxes.salesforce import SalesforceSandbox

CLIENT_ID, CLIENT_SECRET = "3MVG9concord.sandbox", "concord-sandbox-secret"
V = "/services/data/v60.0"
ACCOUNT_FIELDS = {"name": "Name", "email": "Billing_Email__c", "phone": "Phone", "currency": "CurrencyIsoCode",
                  "bill_to.city": "BillingCity", "bill_to.street": "BillingStreet",
                  "bill_to.country": "BillingCountryCode", "bill_to.postal_code": "BillingPostalCode"}


def token(url: str, client_id: str = CLIENT_ID, secret: str = CLIENT_SECRET) -> str:
    answer = httpx.post(f"{url}/services/oauth2/token", data={"grant_type": "client_credentials",
                                                               "client_id": client_id, "client_secret": secret})
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def raw_session(url: str, client: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token(url)}"}
    if client:
        headers["Sforce-Call-Options"] = f"client={client}"
    return httpx.Client(base_url=url, headers=headers, timeout=10)


class SalesforceSeed:
    """The `crm_seed` of tests/contract/crm_contract.py, over raw REST as a user ("client=ui")."""

    def __init__(self, sandbox: SalesforceSandbox) -> None:
        self.sandbox = sandbox
        self.http = raw_session(sandbox.url, client="ui")
        self._pricebooks: dict[str, str] = {}
        self._n = itertools.count(1)

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def create_account(self, fields: dict[str, Any]) -> str:
        body = {ACCOUNT_FIELDS[name]: value for name, value in fields.items()}
        return str(self._ok(self.http.post(f"{V}/sobjects/Account/", json=body))["id"])

    def update_account(self, crm_id: str, fields: dict[str, Any]) -> None:
        body = {ACCOUNT_FIELDS[name]: value for name, value in fields.items()}
        self._ok(self.http.patch(f"{V}/sobjects/Account/{crm_id}", json=body))

    def _pricebook(self, period: str) -> str:
        """Salesforce holds one price per product, price book and currency: a period gets its own book."""
        if period == "month":
            return self.sandbox.org.standard_pricebook_id
        if period not in self._pricebooks:
            self._pricebooks[period] = str(self._ok(self.http.post(
                f"{V}/sobjects/Pricebook2/", json={"Name": f"Concord {period}", "IsActive": True}))["id"])
        return self._pricebooks[period]

    def create_product(self, sku: str, name: str, prices: list[tuple[str, str, Decimal]]) -> str:
        product = str(self._ok(self.http.post(f"{V}/sobjects/Product2/", json={
            "Name": name, "ProductCode": sku, "IsActive": True}))["id"])
        standard = {currency for currency, period, _ in prices if period == "month"}
        for currency, period, amount in prices:
            if period != "month" and currency not in standard:  # a custom book needs a standard price first
                self._entry(product, self.sandbox.org.standard_pricebook_id, currency, "month", amount, False)
                standard.add(currency)
            self._entry(product, self._pricebook(period), currency, period, amount, True)
        return product

    def _entry(self, product: str, book: str, currency: str, period: str, amount: Decimal, active: bool) -> str:
        return str(self._ok(self.http.post(f"{V}/sobjects/PricebookEntry/", json={
            "Product2Id": product, "Pricebook2Id": book, "CurrencyIsoCode": currency, "IsActive": active,
            "UnitPrice": float(amount), "Billing_Period__c": period.title()}))["id"])

    def create_order(self, account_crm_id: str, currency: str, lines: list[tuple[str, str, int, Decimal]],
                     status: str = "draft") -> str:
        order = str(self._ok(self.http.post(f"{V}/sobjects/Order/", json={
            "AccountId": account_crm_id, "EffectiveDate": "2026-12-01", "Status": "Draft",
            "CurrencyIsoCode": currency, "Term_Months__c": 12}))["id"])
        for product, _sku, quantity, price in lines:
            entries = self._ok(self.http.get(f"{V}/query", params={"q": (
                f"SELECT Id FROM PricebookEntry WHERE Product2Id = '{product}' AND CurrencyIsoCode = '{currency}' "
                "AND IsActive = true")}))["records"]
            self._ok(self.http.post(f"{V}/sobjects/OrderItem/", json={
                "OrderId": order, "PricebookEntryId": entries[0]["Id"], "Quantity": quantity,
                "UnitPrice": float(price)}))
        if status == "activated":
            self._ok(self.http.patch(f"{V}/sobjects/Order/{order}", json={"Status": "Activated"}))
        return order

    def read_status(self, entity: str, crm_id: str) -> dict[str, Any]:
        sobject = {"account": "Account", "order": "Order", "product": "Product2"}[entity]
        record = self._ok(self.http.get(f"{V}/sobjects/{sobject}/{crm_id}"))
        return {"state": (record["Concord_Sync_Status__c"] or "").lower(), "message": record["Concord_Sync_Message__c"]
                or "", "correlation_id": record["Concord_Correlation_Id__c"], "record": record}
