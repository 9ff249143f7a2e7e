"""Do Salesforce and the billing vendor agree? Read both over their raw APIs (not through concord's
store) and compare.

Records are put in canonical form with the adapters' pure mapping functions (the anti-corruption
layer, property-tested on its own), so that "Berlin" in BillingCity and "Berlin" in billTo.city
compare equal. The billing side (zuora_side.py, stripe_side.py) reads its vendor. Every
disagreement is listed with its record ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.crm.salesforce.mapping import account_from_sf
from adapters.crm.salesforce.mapping.fields import ACCOUNT_QUERY_FIELDS
from tests.chaos.harness.actors import SalesRep


@dataclass
class Agreement:
    disagreements: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)

    def flag(self, kind: str, example: Any) -> None:
        self.disagreements[kind].append(example)

    def summary(self) -> dict[str, int]:
        return {kind: len(found) for kind, found in sorted(self.disagreements.items()) if found}


def compare_accounts(rep: SalesRep, billing: Any, result: Agreement) -> None:
    soql = f"SELECT {', '.join(ACCOUNT_QUERY_FIELDS)} FROM Account"
    crm = {a.crm_id: a for a in map(account_from_sf, rep.query(soql))}
    by_crm_id: dict[str | None, list[Any]] = defaultdict(list)
    for account in billing.accounts():
        by_crm_id[account.crm_id].append(account)
    result.counts.update(crm_accounts=len(crm), billing_accounts=sum(len(v) for v in by_crm_id.values()))
    for crm_id, found in by_crm_id.items():
        if len(found) > 1:
            result.flag("duplicate_billing_accounts", (crm_id, [a.account_number for a in found]))
        if crm_id not in crm:
            result.flag("orphan_billing_accounts", (crm_id, [a.account_number for a in found]))
    for crm_id, record in crm.items():
        if not by_crm_id.get(crm_id):
            result.flag("account_missing_in_billing", crm_id)
            continue
        other = by_crm_id[crm_id][0].fields
        differing = {
            n: (record.fields.get(n), other.get(n))
            for n in billing.shared_fields
            if record.fields.get(n) != other.get(n)
        }
        if differing:
            result.flag("account_field_mismatch", (crm_id, differing))


def _crm_orders(rep: SalesRep) -> tuple[dict[str, dict[str, Any]], dict[str, Counter[str]]]:
    """Orders and their quantities by sku, read through the lines: the sandbox's SOQL takes ORDER for a
    keyword in `FROM Order` (Salesforce does not); every order of the run has a line."""
    orders: dict[str, dict[str, Any]] = {}
    lines: dict[str, Counter[str]] = defaultdict(Counter)
    soql = "SELECT Id, OrderId, Order.AccountId, Order.Status, Quantity, Product2.ProductCode FROM OrderItem"
    for item in rep.query(soql):
        orders[item["OrderId"]] = {"AccountId": item["Order"]["AccountId"], "Status": item["Order"]["Status"]}
        lines[item["OrderId"]][item["Product2"]["ProductCode"]] += int(Decimal(str(item["Quantity"])))
    return orders, lines


def compare_orders(rep: SalesRep, billing: Any, result: Agreement) -> dict[str, str]:
    """Activated orders <-> subscriptions; returns {order crm id: billing status} for the status check."""
    orders, lines = _crm_orders(rep)
    by_order = billing.subscriptions_by_order()
    result.counts.update(
        crm_orders=len(orders),
        subscriptions=sum(len(v) for v in by_order.values()),
        activated_orders=sum(o["Status"] == "Activated" for o in orders.values()),
    )
    for order_id, ids in by_order.items():
        if len(ids) > 1:
            result.flag("duplicate_subscriptions", (order_id, sorted(ids)))
        if order_id not in orders or orders[order_id]["Status"] != "Activated":
            result.flag("subscription_without_activated_order", (order_id, sorted(ids)))
    statuses: dict[str, str] = {}
    for order_id, order in orders.items():
        if order["Status"] != "Activated":
            continue
        if not by_order.get(order_id):
            result.flag("order_missing_in_billing", order_id)
            continue
        status, account_crm_id, quantities = billing.subscription(min(by_order[order_id]))
        statuses[order_id] = status
        if account_crm_id != order["AccountId"]:
            result.flag("subscription_on_wrong_account", order_id)
        if status == "suspended" and quantities != lines[order_id]:
            # The state table amends active subscriptions only (DESIGN §3): the CRM's change waits for
            # the payment that resumes it, and reconcile reports it as waiting_while_suspended.
            result.flag("quantity_waiting_while_suspended", (order_id, dict(lines[order_id]), dict(quantities)))
        elif status != "cancelled" and quantities != lines[order_id]:
            result.flag("subscription_quantity_mismatch", (order_id, dict(lines[order_id]), dict(quantities)))
    return statuses


def compare_products(rep: SalesRep, billing: Any, result: Agreement) -> None:
    prices: dict[str, set[tuple[str, Decimal]]] = defaultdict(set)
    for entry in rep.query("SELECT Product2Id, CurrencyIsoCode, UnitPrice, IsActive FROM PricebookEntry"):
        if entry["IsActive"]:
            prices[entry["Product2Id"]].add((entry["CurrencyIsoCode"], Decimal(str(entry["UnitPrice"]))))
    products = rep.query("SELECT Id, ProductCode, Name FROM Product2")
    result.counts.update(crm_products=len(products))
    for product in products:
        name, billed = billing.catalog(product["ProductCode"])
        if name != product["Name"]:
            result.flag("product_name_mismatch", (product["ProductCode"], product["Name"], name))
        if billed != prices[product["Id"]]:
            result.flag(
                "product_price_mismatch",
                (product["ProductCode"], sorted(prices[product["Id"]]), sorted(billed)),
            )
