"""The changes people make during the run, drawn at random (seeded) from a realistic mix.

CRM side (Salesforce): accounts created and edited, draft orders created and activated, order
quantities amended, list prices and product details changed. Billing side (Zuora or Stripe): subscriptions
cancelled by a clerk, payment outcomes (failed, then later processed) from the payment gateway.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tests.chaos.harness.actors import SalesRep

CURRENCIES = ("EUR", "USD", "GBP")
CITIES = ("Berlin", "Lyon", "Porto", "Turku", "Ghent", "Graz", "Cork", "Bergen")
MIX = {
    "create_account": 20,
    "edit_account": 30,
    "create_order": 12,
    "activate_order": 12,
    "amend_order": 3,
    "change_price": 3,
    "edit_product": 3,
    "cancel_subscription": 7,
    "payment": 10,
}


@dataclass
class Product:
    crm_id: str
    sku: str
    entries: dict[str, str]


@dataclass
class Order:
    crm_id: str
    item_id: str
    account: str
    activated: bool = False


@dataclass
class World:
    """What the people know they made (ids), not what concord made of it."""

    products: list[Product] = field(default_factory=list)
    accounts: dict[str, str] = field(default_factory=dict)  # crm id -> currency
    orders: list[Order] = field(default_factory=list)


class Scenario:
    def __init__(self, rep: SalesRep, billing: Any, rng: random.Random) -> None:
        self.rep, self.billing, self.rng = rep, billing, rng  # billing: the vendor side (its clerk)
        self.world = World()
        self.applied: Counter[str] = Counter()
        self._n = 0

    def seed_catalog(self, products: int) -> None:
        book = self.rep.standard_pricebook()
        for n in range(products):
            prices = {c: Decimal(self.rng.randrange(500, 9000)) / 100 for c in CURRENCIES}
            crm_id, entries = self.rep.create_product(f"CHAOS-{n:03d}", f"Chaos product {n}", prices, book)
            self.world.products.append(Product(crm_id, f"CHAOS-{n:03d}", entries))
            self.applied["create_product"] += 1

    def step(self) -> str:
        """One change; falls back to creating an account when the drawn change has nothing to act on."""
        kind = self.rng.choices(list(MIX), weights=list(MIX.values()))[0]
        done = getattr(self, kind)()
        kind = kind if done else ("create_account" if self.create_account() else kind)
        self.applied[kind] += 1
        return kind

    def _next(self) -> int:
        self._n += 1
        return self._n

    def create_account(self) -> bool:
        n, currency = self._next(), self.rng.choice(CURRENCIES)
        crm_id = self.rep.create(
            "Account",
            {
                "Name": f"Chaos {n} Ltd",
                "CurrencyIsoCode": currency,
                "Billing_Email__c": f"ap{n}@chaos.example",
                "Phone": f"+49 30 {n:06d}",
                "BillingCity": self.rng.choice(CITIES),
                "BillingStreet": f"{n} Main St",
                "BillingPostalCode": f"{10000 + n}",
                "BillingCountryCode": "DE",
                "Account_Status__c": "Active",
                "Payment_Terms__c": "Net 30",
            },
        )
        self.world.accounts[crm_id] = currency
        return True

    def edit_account(self) -> bool:
        if not self.world.accounts:
            return False
        n = self._next()
        choices = {
            "Name": f"Chaos {n} GmbH",
            "Phone": f"+33 1 {n:06d}",
            "Billing_Email__c": f"billing{n}@chaos.example",
            "BillingCity": self.rng.choice(CITIES),
            "BillingStreet": f"{n} Harbour Rd",
            "BillingPostalCode": f"{20000 + n}",
            "ShippingCity": self.rng.choice(CITIES),
            "Payment_Terms__c": self.rng.choice(("Net 15", "Net 30", "Net 60")),
        }
        picked = self.rng.sample(sorted(choices), self.rng.randint(1, 3))
        self.rep.update(
            "Account", self.rng.choice(list(self.world.accounts)), {k: choices[k] for k in picked}
        )
        return True

    def create_order(self) -> bool:
        if not self.world.accounts:
            return False
        account = self.rng.choice(list(self.world.accounts))
        currency, product = self.world.accounts[account], self.rng.choice(self.world.products)
        price = Decimal(
            str(self.rep.call("GET", f"sobjects/PricebookEntry/{product.entries[currency]}")["UnitPrice"])
        )
        order, item = self.rep.create_order(
            account, currency, product.entries[currency], self.rng.randint(1, 9), price
        )
        self.world.orders.append(Order(order, item, account))
        return True

    def activate_order(self) -> bool:
        drafts = [o for o in self.world.orders if not o.activated]
        if not drafts:
            return False
        order = self.rng.choice(drafts)
        self.rep.update("Order", order.crm_id, {"Status": "Activated"})
        order.activated = True
        return True

    def amend_order(self) -> bool:
        active = [o for o in self.world.orders if o.activated]
        if not active:
            return False
        self.rep.update("OrderItem", self.rng.choice(active).item_id, {"Quantity": self.rng.randint(1, 20)})
        return True

    def change_price(self) -> bool:
        product = self.rng.choice(self.world.products)
        entry = product.entries[self.rng.choice(CURRENCIES)]
        self.rep.update("PricebookEntry", entry, {"UnitPrice": self.rng.randrange(500, 9000) / 100})
        return True

    def edit_product(self) -> bool:
        product = self.rng.choice(self.world.products)
        self.rep.update(
            "Product2",
            product.crm_id,
            {"Name": f"Chaos product {product.sku} r{self._next()}", "Description": f"revision {self._n}"},
        )
        return True

    def cancel_subscription(self) -> bool:
        live = self.billing.live_subscriptions()  # the clerk's screen: live subscriptions to pick from
        if not live:
            return False
        self.billing.cancel(self.rng.choice(live))
        return True

    def payment(self) -> bool:
        live = self.billing.live_subscriptions()
        if not live:
            return False
        chosen = self.rng.choice(live)
        self.billing.payment(chosen, failed=chosen["active"] and self.rng.random() < 0.6)
        return True
