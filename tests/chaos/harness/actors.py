"""People changing things in the vendors, over the vendors' raw APIs (never concord's adapters).

A sales rep in Salesforce (client "ui", so echo suppression never hides their changes), and the
session a billing clerk uses (the clerks are in zuora_side.py, stripe_side.py). The sandboxes
inject faults into their calls too; an injected 5xx or 429 is answered before the vendor does
anything, so the people simply try again, as a browser session would.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

V = "/services/data/v60.0"
ATTEMPTS = 20


def _busy(response: httpx.Response) -> bool:
    """An injected 5xx or throttle (Salesforce: 403 REQUEST_LIMIT_EXCEEDED on data, 400 rate_limit_exceeded
    on its token endpoint)."""
    status, body = response.status_code, response.content
    return status >= 500 or status == 429 or (status in (400, 403) and b"LIMIT_EXCEEDED" in body.upper())


class Session:
    """A person's logged-in session: logs in again when the vendor says the token expired (401)."""

    def __init__(self, url: str, token_path: str, form: dict[str, str], headers: dict[str, str]) -> None:
        self.url, self.token_path, self.form = url, token_path, form
        self.http = httpx.Client(base_url=url, timeout=30, headers=headers)
        self.login()

    def login(self) -> None:
        self.http.headers.pop("Authorization", None)  # Zuora refuses a token request that carries one
        token = _call(self.http, "POST", self.token_path, data=self.form, login=None)["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return _call(self.http, method, path, login=self.login, **kwargs)


def _call(http: httpx.Client, method: str, path: str, *, login: Any = None, **kwargs: Any) -> Any:
    for _ in range(ATTEMPTS):
        response = http.request(method, path, **kwargs)
        if response.status_code == 401 and login is not None:
            login()
            continue
        if not _busy(response):
            break
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:300]}")
    body = response.json() if response.content else None
    if isinstance(body, dict) and body.get("success") is False:  # Zuora's 200 with success:false
        raise RuntimeError(f"{method} {path}: {body.get('reasons')}")
    return body


class SalesRep:
    def __init__(self, url: str, client_id: str, client_secret: str) -> None:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        self.session = Session(url, "/services/oauth2/token", form, {"Sforce-Call-Options": "client=ui"})

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.session.call(method, path if path.startswith("/") else f"{V}/{path}", **kwargs)

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        return str(self.call("POST", f"sobjects/{sobject}/", json=fields)["id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        self.call("PATCH", f"sobjects/{sobject}/{record_id}", json=fields)

    def query(self, soql: str) -> list[dict[str, Any]]:
        body = self.call("GET", "query", params={"q": soql})
        records = list(body["records"])
        while not body.get("done", True):
            body = self.call("GET", body["nextRecordsUrl"])
            records.extend(body["records"])
        return records

    def standard_pricebook(self) -> str:
        return str(self.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")[0]["Id"])

    def create_product(
        self, sku: str, name: str, prices: dict[str, Decimal], book: str
    ) -> tuple[str, dict[str, str]]:
        """A product with a monthly list price per currency: (product id, {currency: price entry id})."""
        product = self.create("Product2", {"Name": name, "ProductCode": sku, "IsActive": True})
        entries = {
            currency: self.create(
                "PricebookEntry",
                {
                    "Product2Id": product,
                    "Pricebook2Id": book,
                    "CurrencyIsoCode": currency,
                    "IsActive": True,
                    "UnitPrice": float(amount),
                    "Billing_Period__c": "Month",
                },
            )
            for currency, amount in prices.items()
        }
        return product, entries

    def create_order(
        self, account: str, currency: str, entry: str, quantity: int, price: Decimal
    ) -> tuple[str, str]:
        """Draft with one product line, as Salesforce's UI makes one: (order id, order item id)."""
        order = self.create(
            "Order",
            {
                "AccountId": account,
                "EffectiveDate": datetime.now(UTC).date().isoformat(),
                "Status": "Draft",
                "CurrencyIsoCode": currency,
                "Term_Months__c": 12,
            },
        )
        item = self.create(
            "OrderItem",
            {"OrderId": order, "PricebookEntryId": entry, "Quantity": quantity, "UnitPrice": float(price)},
        )
        return order, item
