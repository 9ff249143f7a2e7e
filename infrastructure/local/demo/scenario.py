"""The scenario of issue 5, step by step. Each step acts as a user of one system (Salesforce, billing,
a carrier, a WebSocket client) and waits, bounded, for the effect in the others; it returns a one-line
result or raises StepFailed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from infrastructure.local.demo.billing import BillingUser
from infrastructure.local.demo.carrier import Carrier
from infrastructure.local.demo.crm import CrmUser
from infrastructure.local.demo.listener import Listener
from infrastructure.local.demo.observe import ConcordView, StepFailed, wait_for
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
    d.out.hop(d.billing.vendor, "prices: " + ", ".join(f"{a} ({'active' if on else 'retired'})" for a, on in prices))
    return f"version {len(versions)} at {NEW_PRICE}; {PRICE} retired; the subscription keeps its price"


def _repriced(prices: list[tuple[Decimal, bool]]) -> list[tuple[Decimal, bool]] | None:
    return prices if (NEW_PRICE, True) in prices and (PRICE, False) in prices else None


def payment_failure_and_recovery(d: Demo) -> str:
    d.billing.payment(d.ids["account_number"], d.ids["subscription"], failed=True)
    d.out.hop(d.billing.vendor, "payment failed")
    d.wait("the order suspended", lambda: d.view.order_status(d.ids["order"]) == "suspended")
    d.out.hop("concord", f"order suspended; {d.billing.vendor}: {d.billing.subscription_state(d.ids['subscription'])}")
    d.billing.payment(d.ids["account_number"], d.ids["subscription"], failed=False)
    d.out.hop(d.billing.vendor, "payment processed")
    d.wait("the order active again", lambda: d.view.order_status(d.ids["order"]) == "active")
    d.out.hop("concord", f"order resumed; {d.billing.vendor}: {d.billing.subscription_state(d.ids['subscription'])}")
    return "suspended on the failed payment, active again once paid"


def billing_cancellation_comes_back(d: Demo) -> str:
    d.billing.cancel(d.ids["subscription"], d.ids["subscription_number"], d.ids["account_number"])
    d.out.hop(d.billing.vendor, f"a billing clerk cancelled subscription {d.ids['subscription_number']}")
    d.wait("the order cancelled in concord", lambda: d.view.order_status(d.ids["order"]) == "cancelled")
    d.out.hop("concord", "order cancelled")
    record = d.wait("the CRM status fields", lambda: _written_back(d.crm.read("Order", d.ids["order"])))
    d.out.hop("salesforce", f"Order {d.ids['order']}: {record['Concord_Sync_Status__c']} / "
                            f"{record['Concord_Sync_Message__c']!r}")
    return f"CRM order says {record['Concord_Sync_Message__c']!r}"


def _written_back(record: dict[str, Any]) -> dict[str, Any] | None:
    return record if "cancel" in str(record.get("Concord_Sync_Message__c") or "").lower() else None


def carrier_round_trip(d: Demo) -> str:
    order = d.ids["order"]
    delivered = d.wait("a signed Order.Activated delivery at the carrier", lambda: d.carrier.delivered(
        "Order.Activated", order))
    d.out.hop("carrier", f"received Order.Activated {delivered['metadata']['eventId']} (signature verified)")
    shipment = f"SHP-{d.run}"
    answer = d.carrier.publish(d.gateway, d.api_key, order, shipment, delivered["metadata"]["correlationId"])
    if answer.status_code != 202:
        raise StepFailed(f"POST /events answered {answer.status_code}: {answer.text[:200]}")
    d.out.hop("carrier", f"POST /events ShipmentConfirmed {shipment} -> 202")
    spoofed = Carrier.publish(d.gateway, "not-a-key", order, shipment, "spoof")
    d.out.hop("gateway", f"the same event with a wrong key -> {spoofed.status_code}")
    if spoofed.status_code not in (401, 403):
        raise StepFailed(f"a wrong API key was answered {spoofed.status_code}")
    return f"delivery verified, ShipmentConfirmed {shipment} accepted (202)"


def notifications_arrive(d: Demo) -> str:
    wanted = {"Account.Synced", "Order.Activated", "Order.Suspended", "Order.Cancelled"}
    d.wait(f"WebSocket notifications {sorted(wanted)}", lambda: wanted <= set(d.listener.events()))
    return f"{len(d.listener.messages)} messages, including {', '.join(sorted(wanted))}"


def account_history(d: Demo) -> str:
    entries = d.view.history("account", d.ids["account"])
    if not entries:
        raise StepFailed("the account has no history")
    d.out.table(f"History of account {d.ids['account']}", ["v", "time", "event", "correlation id", "changes"], [
        [str(e.version), e.timestamp.strftime("%H:%M:%S.%f")[:-3], e.event, e.correlation_id[:13],
         ", ".join(sorted(str(k) for k in e.changes))[:60]] for e in entries])
    return f"{len(entries)} events"


STEPS = [
    ("A product with a price created in Salesforce reaches billing", product_reaches_billing),
    ("An account created, then edited, in Salesforce appears in billing with the edit", account_created_and_edited),
    ("An order activated in Salesforce becomes a subscription", order_becomes_subscription),
    ("A price change reaches billing as a new price version", price_change_is_new_version),
    ("A payment failure suspends the order; a payment recovers it", payment_failure_and_recovery),
    ("A cancellation made in billing comes back to the order and the CRM", billing_cancellation_comes_back),
    ("An HTTP-only carrier gets a signed delivery and publishes back", carrier_round_trip),
    ("A WebSocket client receives the notifications", notifications_arrive),
    ("The audit history of the account", account_history),
]
