from __future__ import annotations

import dataclasses
import itertools
from datetime import date
from decimal import Decimal

import pytest

from adapters.memory.billing import MemoryBilling
from adapters.memory.crm import MemoryCrm
from application.app import ConcordApp
from application.commands import ApplyBillingTrigger, SyncAccountFromCrm, SyncOrderFromCrm, SyncProductFromCrm
from application.errors import RetryableError
from application.handlers import handle
from application.services import Services
from domain.canonical import OrderLine, OrderSnapshot, PriceSpec, ProductSnapshot
from domain.sync import CrmChange
from domain.values import BillingPeriod, Money


class World:
    """concord with in-memory ports, and helpers that act as the CRM and its event relay."""

    def __init__(self) -> None:
        self.app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.crm = MemoryCrm()
        self.billing = MemoryBilling()
        self.services = Services(self.app, self.crm, self.billing, integration_client="concord")
        self._commit = itertools.count(100)

    def change(self, crm_id: str, fields: dict, *, change_type: str = "update", commit: int | None = None,
               seq: int = 1, origin: str | None = "user-ui", entity: str = "account", at_ms: int | None = None,
               needs_fetch: bool = False) -> CrmChange:
        number = commit if commit is not None else next(self._commit)
        return CrmChange(entity, (crm_id,), change_type, fields, (number, seq),
                         at_ms if at_ms is not None else 1_700_000_000_000 + number, origin,
                         f"tx-{number}", f"evt-{number}-{seq}", needs_fetch)

    def sync_account(self, change: CrmChange, correlation_id: str = "corr-1", attempt: int = 1):
        return handle(SyncAccountFromCrm(change, correlation_id, attempt), self.services)

    def new_account(self, crm_id: str = "001A", **extra):
        fields = {"name": "Acme Ltd", "email": "ap@acme.example", "currency": "EUR", **extra}
        self.crm.put_account(fields, crm_id)
        return self.sync_account(self.change(crm_id, fields, change_type="create"))

    def product(self, crm_id: str = "01tP", sku: str = "WIDGET", amount: str = "10.00", currency: str = "EUR"):
        snapshot = ProductSnapshot(crm_id, sku, "Widget", prices=(
            PriceSpec(Money(Decimal(amount), currency), BillingPeriod.MONTH),))
        self.crm.put_product(snapshot)
        return handle(SyncProductFromCrm(crm_id, "corr-p"), self.services)

    def order(self, crm_id: str = "801O", account: str = "001A", status: str = "activated", quantity: int = 2,
              sku: str = "WIDGET", amount: str = "10.00"):
        snapshot = OrderSnapshot(crm_id, account, status, date(2026, 12, 1), 12, "EUR",
                                 (OrderLine("802L1", sku, quantity, Money(Decimal(amount), "EUR")),))
        self.crm.put_order(snapshot)
        return handle(SyncOrderFromCrm(crm_id, "corr-o"), self.services)

    def trigger(self, object_type: str, object_id: str, event_name: str, account_id: str | None = None):
        """A billing callout or webhook, as the gateway turns it into a command."""
        return handle(ApplyBillingTrigger(object_type, object_id, account_id, event_name, "corr-b"), self.services)

    def suspend_with_a_quantity_change_waiting(self) -> tuple[str, str]:
        """An order at quantity 2 whose subscription a failed payment suspended; the CRM then changes it to
        5 (that message gives up on ORDER_SUSPENDED). Returns (billing account id, subscription id)."""
        self.new_account()
        self.product()
        self.order(quantity=2)
        account_id = next(iter(self.billing.accounts))
        self.billing.set_payment_state(account_id, "failed")
        handle(ApplyBillingTrigger("payment", "pay_1", account_id, "PaymentFailed", "c1"), self.services)
        with pytest.raises(RetryableError, match="suspended"):  # kept: retried, or dead-lettered with the reason
            self.order(quantity=5)
        [subscription_id] = self.billing.subscriptions
        return account_id, subscription_id

    def clerk_sets_quantity(self, quantity: int, version: str | None = None) -> None:
        """A billing clerk edits the only subscription's first item in billing, behind concord's back."""
        [billing_id] = self.billing.subscriptions
        subscription = self.billing.subscriptions[billing_id]
        item = dataclasses.replace(subscription.items[0], quantity=quantity)
        self.billing.subscriptions[billing_id] = dataclasses.replace(
            subscription, items=(item, *subscription.items[1:]), version=version or subscription.version)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def ready(world: World) -> World:
    """An account in billing and a product with its price: an order can be activated."""
    world.new_account()
    world.product()
    return world
