"""The in-memory fakes are held to the same contracts as the real adapters (so fakes stay honest)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from adapters.memory.billing import MemoryBilling
from adapters.memory.crm import MemoryCrm
from domain.canonical import OrderLine, OrderSnapshot, PriceSpec, ProductSnapshot
from domain.values import BillingPeriod, Money
from tests.contract.billing_contract import BillingGatewayContract
from tests.contract.crm_contract import CrmGatewayContract


class TestMemoryBilling(BillingGatewayContract):
    @pytest.fixture
    def gateway(self):
        return MemoryBilling()


class MemorySeed:
    def __init__(self, crm: MemoryCrm) -> None:
        self.crm = crm
        self._ids = itertools.count(1)

    def create_account(self, fields):
        return self.crm.put_account(fields).crm_id

    def update_account(self, crm_id, fields):
        self.crm.put_account(fields, crm_id)

    def create_product(self, sku, name, prices):
        specs = tuple(PriceSpec(Money(amount, cur), BillingPeriod(period)) for cur, period, amount in prices)
        return self.crm.put_product(ProductSnapshot(f"01t{next(self._ids):015d}", sku, name, prices=specs)).crm_id

    def create_order(self, account_crm_id, currency, lines, status="draft"):
        order_lines = tuple(OrderLine(f"802{n}", sku, qty, Money(price, currency))
                            for n, (_product, sku, qty, price) in enumerate(lines))
        order = OrderSnapshot(f"801{next(self._ids):015d}", account_crm_id, status, date(2026, 12, 1), 12, currency,
                              order_lines)
        return self.crm.put_order(order).crm_id

    def read_status(self, entity, crm_id):
        status = self.crm.statuses[(entity, crm_id)]
        return {"state": status.state, "message": status.message}


class TestMemoryCrm(CrmGatewayContract):
    @pytest.fixture
    def gateway(self):
        return MemoryCrm()

    @pytest.fixture
    def crm_seed(self, gateway):
        return MemorySeed(gateway)
