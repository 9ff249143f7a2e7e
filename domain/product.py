"""The Product aggregate: the catalog entry and its prices as versions.

A price change adds a version and retires the old one; it never edits a price in place, so a
subscription made on version 2 keeps version 2's billing price until a migration is asked for.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import SyncedAggregate, entity_id
from domain.canonical import PriceSpec, ProductSnapshot
from domain.errors import UnknownPrice
from domain.values import BillingPeriod, Money


def _details(snapshot: ProductSnapshot) -> dict[str, Any]:
    return {
        "sku": snapshot.sku,
        "name": snapshot.name,
        "description": snapshot.description,
        "active": snapshot.active,
        "effective_from": snapshot.effective_from.isoformat() if snapshot.effective_from else None,
        "effective_to": snapshot.effective_to.isoformat() if snapshot.effective_to else None,
    }


class Product(SyncedAggregate):
    @staticmethod
    def create_id(crm_id: str) -> UUID:
        return entity_id("product", crm_id)

    @classmethod
    def register(cls, snapshot: ProductSnapshot, correlation_id: str) -> Product:
        product = cls(crm_id=snapshot.crm_id, details=_details(snapshot), crm_modified_at=snapshot.modified_at,
                      correlation_id=correlation_id)
        product.reprice(snapshot.prices, correlation_id)
        return product

    @event("Registered")
    def __init__(self, crm_id: str, details: dict[str, Any], crm_modified_at: str, correlation_id: str) -> None:
        self.crm_id = crm_id
        self.details = dict(details)
        self.crm_modified_at = crm_modified_at
        self.billing: dict[str, str | None] = {}
        # price key ("EUR/month") -> versions, oldest first: {version, amount, currency, period, price_id, active}
        self.prices: dict[str, list[dict[str, Any]]] = {}

    @property
    def sku(self) -> str:
        return str(self.details["sku"])

    def details_snapshot(self) -> ProductSnapshot:
        """The stored details as a CRM snapshot (prices are versions, synced apart): what billing is sent."""
        def day(value: Any) -> date | None:
            return date.fromisoformat(value) if value else None

        return ProductSnapshot(self.crm_id, self.sku, str(self.details["name"]), self.details.get("description"),
                               bool(self.details.get("active", True)), day(self.details.get("effective_from")),
                               day(self.details.get("effective_to")), modified_at=self.crm_modified_at)

    def is_older_read(self, snapshot: ProductSnapshot) -> bool:
        """A read of the CRM record made before the last one applied (a slow worker's): it changes nothing."""
        return bool(snapshot.modified_at and self.crm_modified_at and snapshot.modified_at < self.crm_modified_at)

    def apply_crm_read(self, snapshot: ProductSnapshot, correlation_id: str) -> dict[str, Any]:
        """Details and prices of a whole-record read, unless it is older than the last one applied
        (prices included: a slow worker's read must not bring back a price a newer one replaced).
        Returns the details that changed."""
        if self.is_older_read(snapshot):
            return {}
        changes = self.update_details(snapshot, correlation_id)
        touched = self.reprice(snapshot.prices, correlation_id)
        if touched and not changes and snapshot.modified_at > self.crm_modified_at:
            self._crm_read(crm_modified_at=snapshot.modified_at, correlation_id=correlation_id)
        return changes

    @event("CrmReadApplied")
    def _crm_read(self, crm_modified_at: str, correlation_id: str) -> None:
        self.crm_modified_at = crm_modified_at

    def update_details(self, snapshot: ProductSnapshot, correlation_id: str) -> dict[str, Any]:
        if self.is_older_read(snapshot):
            return {}  # a stale read of the record
        changes = {k: v for k, v in _details(snapshot).items() if self.details.get(k) != v}
        if changes:
            self._details_changed(changes=changes, crm_modified_at=snapshot.modified_at, correlation_id=correlation_id)
        return changes

    @event("DetailsChanged")
    def _details_changed(self, changes: dict[str, Any], crm_modified_at: str, correlation_id: str) -> None:
        self.details.update(changes)
        self.crm_modified_at = crm_modified_at or self.crm_modified_at

    def active_price(self, key: str) -> dict[str, Any] | None:
        return next((v for v in reversed(self.prices.get(key, [])) if v["active"]), None)

    def price_for(self, currency: str, period: BillingPeriod) -> dict[str, Any]:
        version = self.active_price(f"{currency}/{period.value}")
        if version is None:
            raise UnknownPrice(f"product {self.sku} has no active {period.value} price in {currency}")
        return version

    def reprice(self, prices: tuple[PriceSpec, ...], correlation_id: str) -> list[str]:
        """Add a version for every new or changed price; retire versions whose price went away."""
        touched: list[str] = []
        wanted = {spec.key: spec for spec in prices}
        for key, spec in wanted.items():
            current = self.active_price(key)
            if current is not None and Decimal(current["amount"]) == spec.amount.amount:
                continue
            if current is not None:
                self._price_retired(key=key, version=current["version"], correlation_id=correlation_id)
            self._price_added(key=key, version=len(self.prices.get(key, [])) + 1, amount=spec.amount.amount,
                              currency=spec.amount.currency, period=spec.period.value, correlation_id=correlation_id)
            touched.append(key)
        for key in self.prices:
            current = self.active_price(key)
            if key not in wanted and current is not None:
                self._price_retired(key=key, version=current["version"], correlation_id=correlation_id)
                touched.append(key)
        return touched

    @event("PriceVersionAdded")
    def _price_added(self, key: str, version: int, amount: Decimal, currency: str, period: str,
                     correlation_id: str) -> None:
        Money(amount, currency)  # the invariant holds in replay too
        self.prices.setdefault(key, []).append({"version": version, "amount": str(amount), "currency": currency,
                                                "period": period, "price_id": None, "active": True})

    @event("PriceVersionRetired")
    def _price_retired(self, key: str, version: int, correlation_id: str) -> None:
        self._price_entry(key, version)["active"] = False

    def _price_entry(self, key: str, version: int) -> dict[str, Any]:
        for entry in self.prices.get(key, []):
            if entry["version"] == version:
                return entry
        raise UnknownPrice(f"product {self.sku} has no price version {key} v{version}")

    def unlinked_prices(self, *, active: bool = True) -> list[tuple[str, dict[str, Any]]]:
        """Versions billing has not confirmed yet (active ones to publish; retired ones may exist in
        billing from a worker that died before recording the answer)."""
        return [(k, v) for k, versions in self.prices.items() for v in versions
                if v["active"] == active and not v["price_id"]]

    def retired_linked_prices(self) -> list[tuple[str, dict[str, Any]]]:
        return [(k, v) for k, versions in self.prices.items() for v in versions
                if not v["active"] and v["price_id"] and not v.get("retired_in_billing")]

    def link_billing(self, product_id: str, plan_id: str | None, correlation_id: str) -> None:
        if self.billing.get("product_id") != product_id or self.billing.get("plan_id") != plan_id:
            self._billing_linked(product_id=product_id, plan_id=plan_id, correlation_id=correlation_id)

    @event("BillingLinked")
    def _billing_linked(self, product_id: str, plan_id: str | None, correlation_id: str) -> None:
        self.billing = {"product_id": product_id, "plan_id": plan_id}

    def link_price(self, key: str, version: int, price_id: str, correlation_id: str) -> None:
        self._price_linked(key=key, version=version, price_id=price_id, correlation_id=correlation_id)

    @event("PriceLinked")
    def _price_linked(self, key: str, version: int, price_id: str, correlation_id: str) -> None:
        self._price_entry(key, version)["price_id"] = price_id

    def mark_price_retired_in_billing(self, key: str, version: int, correlation_id: str) -> None:
        self._price_retired_in_billing(key=key, version=version, correlation_id=correlation_id)

    @event("PriceRetiredInBilling")
    def _price_retired_in_billing(self, key: str, version: int, correlation_id: str) -> None:
        self._price_entry(key, version)["retired_in_billing"] = True
