"""The scenario of issue 5, steps 1-4 (the CRM side; steps 5-9 are in edges.py). Each step acts as a user
of one system (Salesforce, billing, a carrier, a WebSocket client) and waits, bounded, for the effect in
the others; it returns a one-line result or raises StepFailed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infrastructure.local.demo.billing import BillingUser
from infrastructure.local.demo.carrier import Carrier
from infrastructure.local.demo.crm import CrmUser
from infrastructure.local.demo.listener import Listener
from infrastructure.local.demo.observe import ConcordView, wait_for
from infrastructure.local.demo.output import Console

SKU, CURRENCY, PRICE, NEW_PRICE = "DEMO-ROUTER", "USD", Decimal("25.00"), Decimal("30.00")


@dataclass
class Demo:
    out: Console
    crm: CrmUser
    billing: BillingUser
    view: ConcordView
    carrier: Carrier
    listener: Listener
    gateway: str
    api_key: str
    timeout_s: float = 120.0
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    ids: dict[str, Any] = field(default_factory=dict)

    def wait(self, what: str, probe: Any) -> Any:
        return wait_for(what, probe, self.timeout_s)


def product_reaches_billing(d: Demo) -> str:
    product, entry = d.crm.create_product(f"{SKU}-{d.run}", f"Edge router {d.run}", CURRENCY, PRICE)
    d.ids.update(product=product, entry=entry)
    d.out.hop("salesforce", f"Product2 {product} with a {PRICE} {CURRENCY}/month PricebookEntry {entry}")
    billing_id = d.wait("the product's billing id", lambda: d.view.ids("product", product).get("billing"))
    d.out.hop("concord", f"product synced, {d.billing.vendor} product {billing_id}")
    d.ids["billing_product"] = billing_id
    d.wait(f"a {PRICE} price in {d.billing.vendor}", lambda: (PRICE, True) in d.billing.prices(billing_id))
    return f"{d.billing.vendor} product {billing_id} sells at {PRICE} {CURRENCY}"


def account_created_and_edited(d: Demo) -> str:
    name = f"Acme Robotics {d.run}"
    account = d.crm.create("Account", {"Name": name, "Billing_Email__c": "ap@acme.example", "CurrencyIsoCode":
                                       CURRENCY, "BillingStreet": "1 Main St", "BillingCity": "Boston",
                                       "BillingPostalCode": "02110", "BillingCountryCode": "US"})
    d.ids["account"] = account
    d.out.hop("salesforce", f"Account {account} {name!r} created")
    d.crm.update("Account", account, {"Name": f"{name} Inc", "BillingCity": "Cambridge"})
    d.out.hop("salesforce", f"Account {account} edited: Name {name + ' Inc'!r}, BillingCity 'Cambridge'")
    billing_id = d.wait("the account's billing id", lambda: d.view.ids("account", account).get("billing"))
    d.ids["billing_account"] = billing_id
    seen = d.wait(f"the edit in {d.billing.vendor}", lambda: _edited(d.billing.account(billing_id), name))
    d.ids["account_number"] = seen["number"]
    d.out.hop(d.billing.vendor, f"account {seen['number']}: {seen['name']!r}, {seen['city']}")
    return f"{d.billing.vendor} account {seen['number']} shows the edit"


def _edited(account: dict[str, Any], name: str) -> dict[str, Any] | None:
    return account if account["name"] == f"{name} Inc" and account.get("city") == "Cambridge" else None


def order_becomes_subscription(d: Demo) -> str:
    order = d.crm.create_order(d.ids["account"], CURRENCY, d.ids["entry"], 3, PRICE)
    d.ids["order"] = order
    d.crm.update("Order", order, {"Status": "Activated"})
    d.out.hop("salesforce", f"Order {order} (3 x {SKU}) activated")
    ids = d.wait("the order's subscription", lambda: (d.view.order_status(order) == "active" and
                                                      d.view.ids("order", order).get("billing") and
                                                      d.view.ids("order", order)))
    d.ids.update(subscription=ids["billing"], subscription_number=ids.get("billing_number", ids["billing"]))
    state = d.billing.subscription_state(ids["billing"])
    d.out.hop(d.billing.vendor, f"subscription {d.ids['subscription_number']} is {state}")
    return f"subscription {d.ids['subscription_number']} ({state})"


def price_change_is_new_version(d: Demo) -> str:
    d.crm.update("PricebookEntry", d.ids["entry"], {"UnitPrice": float(NEW_PRICE)})
    d.out.hop("salesforce", f"PricebookEntry {d.ids['entry']}: {PRICE} -> {NEW_PRICE}")
    versions = d.wait("a second price version", lambda: [v for v in d.view.price_versions(d.ids["product"])
                                                         if v.get("price_id")] if len(
        d.view.price_versions(d.ids["product"])) > 1 else None)
    prices = d.wait(f"{NEW_PRICE} active and {PRICE} retired in {d.billing.vendor}", lambda: _repriced(
        d.billing.prices(d.ids["billing_product"])))
    d.out.hop(
        d.billing.vendor, "prices: " + ", ".join(f"{a} ({'active' if on else 'retired'})" for a, on in prices)
    )
    return f"version {len(versions)} at {NEW_PRICE}; {PRICE} retired; the subscription keeps its price"


def _repriced(prices: list[tuple[Decimal, bool]]) -> list[tuple[Decimal, bool]] | None:
    return prices if (NEW_PRICE, True) in prices and (PRICE, False) in prices else None
