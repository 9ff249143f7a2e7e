"""Do Salesforce and Zuora agree? Read both over their raw APIs (not through concord's store) and compare.

Records are put in canonical form with the adapters' pure mapping functions (the anti-corruption
layer, property-tested on its own), so that "Berlin" in BillingCity and "Berlin" in billTo.city
compare equal. Every disagreement is listed with its record ids.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.billing.zuora.mapping import account_from_zuora
from adapters.crm.salesforce.mapping import account_from_sf
from adapters.crm.salesforce.mapping.fields import ACCOUNT_QUERY_FIELDS
from tests.chaos.harness.actors import SalesRep, Session

# The canonical fields both systems hold: Zuora keeps no tax id, and its account status is its own.
SHARED_ACCOUNT_FIELDS = (
    "name",
    "email",
    "phone",
    "currency",
    "payment_terms",
    *(
        f"{side}.{part}"
        for side in ("bill_to", "sold_to")
        for part in ("street", "city", "state", "postal_code", "country")
    ),
)


@dataclass
class Agreement:
    disagreements: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)

    def flag(self, kind: str, example: Any) -> None:
        self.disagreements[kind].append(example)

    @property
    def total(self) -> int:
        return sum(len(found) for found in self.disagreements.values())

    def summary(self) -> dict[str, int]:
        return {kind: len(found) for kind, found in sorted(self.disagreements.items())}


class ZuoraReader:
    def __init__(self, session: Session) -> None:
        self.session = session

    def rows(self, path: str, extra: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        params, found, cursor = [*(extra or []), ("pageSize", "99")], [], None
        while True:
            body = self.session.call("GET", path, params=[*params, *([("cursor", cursor)] if cursor else [])])
            found.extend(body["data"])
            cursor = body.get("nextPage")
            if not cursor:
                return found

    def get(self, path: str) -> Any:
        return self.session.call("GET", path)


def compare_accounts(rep: SalesRep, zuora: ZuoraReader, result: Agreement) -> None:
    crm = {
        a.crm_id: a
        for a in map(account_from_sf, rep.query(f"SELECT {', '.join(ACCOUNT_QUERY_FIELDS)} FROM Account"))
    }
    billing: dict[str | None, list[Any]] = defaultdict(list)
    for row in zuora.rows("/object-query/accounts", [("expand[]", "billto"), ("expand[]", "soldto")]):
        account = account_from_zuora(row)
        billing[account.crm_id].append(account)
    result.counts.update(crm_accounts=len(crm), billing_accounts=sum(len(v) for v in billing.values()))
    for crm_id, found in billing.items():
        if len(found) > 1:
            result.flag("duplicate_billing_accounts", (crm_id, [a.account_number for a in found]))
        if crm_id not in crm:
            result.flag("orphan_billing_accounts", (crm_id, [a.account_number for a in found]))
    for crm_id, record in crm.items():
        if not billing.get(crm_id):
            result.flag("account_missing_in_billing", crm_id)
            continue
        other = billing[crm_id][0].fields
        differing = {
            n: (record.fields.get(n), other.get(n))
            for n in SHARED_ACCOUNT_FIELDS
            if record.fields.get(n) != other.get(n)
        }
        if differing:
            result.flag("account_field_mismatch", (crm_id, differing))


def _live_quantities(subscription: dict[str, Any]) -> Counter[str]:
    quantities: Counter[str] = Counter()
    for plan in subscription.get("ratePlans") or []:
        if plan.get("lastChangeType") != "Remove":
            for charge in plan.get("ratePlanCharges") or []:
                quantities[plan["productSku"]] += int(charge.get("quantity") or 0)
    return quantities


def compare_orders(rep: SalesRep, zuora: ZuoraReader, result: Agreement) -> dict[str, str]:
    """Activated orders <-> subscriptions; returns {order crm id: billing status} for the status check."""
    # Through the lines: the sandbox's SOQL takes ORDER for a keyword in `FROM Order` (Salesforce does
    # not); every order of the run has a line.
    orders: dict[str, dict[str, Any]] = {}
    lines: dict[str, Counter[str]] = defaultdict(Counter)
    for item in rep.query(
        "SELECT Id, OrderId, Order.AccountId, Order.Status, Quantity, Product2.ProductCode FROM OrderItem"
    ):
        orders[item["OrderId"]] = {"AccountId": item["Order"]["AccountId"], "Status": item["Order"]["Status"]}
        lines[item["OrderId"]][item["Product2"]["ProductCode"]] += int(Decimal(str(item["Quantity"])))
    by_order: dict[str, set[str]] = defaultdict(set)
    for row in zuora.rows("/object-query/subscriptions"):
        by_order[str(row.get("CrmOrderId__c"))].add(str(row["subscriptionNumber"]))
    accounts = {row["id"]: row.get("crmId") for row in zuora.rows("/object-query/accounts")}
    statuses: dict[str, str] = {}
    result.counts.update(
        crm_orders=len(orders),
        activated_orders=sum(o["Status"] == "Activated" for o in orders.values()),
        subscriptions=sum(len(v) for v in by_order.values()),
    )
    for order_id, numbers in by_order.items():
        if len(numbers) > 1:
            result.flag("duplicate_subscriptions", (order_id, sorted(numbers)))
        if order_id not in orders or orders[order_id]["Status"] != "Activated":
            result.flag("subscription_without_activated_order", (order_id, sorted(numbers)))
    for order_id, order in orders.items():
        if order["Status"] != "Activated":
            continue
        if not by_order.get(order_id):
            result.flag("order_missing_in_billing", order_id)
            continue
        subscription = zuora.get(f"/v1/subscriptions/{min(by_order[order_id])}")
        statuses[order_id] = str(subscription["status"]).lower()
        if accounts.get(subscription["accountId"]) != order["AccountId"]:
            result.flag("subscription_on_wrong_account", order_id)
        if subscription["status"] != "Cancelled" and _live_quantities(subscription) != lines[order_id]:
            result.flag(
                "subscription_quantity_mismatch",
                (order_id, dict(lines[order_id]), dict(_live_quantities(subscription))),
            )
    return statuses


def compare_products(rep: SalesRep, zuora: ZuoraReader, result: Agreement) -> None:
    prices: dict[str, set[tuple[str, Decimal]]] = defaultdict(set)
    for entry in rep.query("SELECT Product2Id, CurrencyIsoCode, UnitPrice, IsActive FROM PricebookEntry"):
        if entry["IsActive"]:
            prices[entry["Product2Id"]].add((entry["CurrencyIsoCode"], Decimal(str(entry["UnitPrice"]))))
    products = rep.query("SELECT Id, ProductCode, Name FROM Product2")
    result.counts.update(crm_products=len(products))
    for product in products:
        catalog = zuora.get(f"/v1/catalog/product/{product['ProductCode']}")
        billed = {
            (tier["currency"], Decimal(str(tier["price"])))
            for plan in catalog["productRatePlans"]
            if plan["status"] == "Active"
            for charge in plan["productRatePlanCharges"]
            for tier in charge["pricing"]
        }
        if catalog["name"] != product["Name"]:
            result.flag("product_name_mismatch", (product["ProductCode"], product["Name"], catalog["name"]))
        if billed != prices[product["Id"]]:
            result.flag(
                "product_price_mismatch",
                (product["ProductCode"], sorted(prices[product["Id"]]), sorted(billed)),
            )
