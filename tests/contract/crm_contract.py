"""The CrmGateway contract: every CRM implementation (fake, Salesforce) passes it.

Subclass `CrmGatewayContract` and provide fixtures `gateway` (the CrmGateway) and `crm_seed`, an
object acting as a CRM user does, with:
    create_account(fields: dict) -> crm_id            canonical field names
    update_account(crm_id, fields: dict) -> None
    create_product(sku, name, prices: list[(currency, period, Decimal)]) -> crm_id
    create_order(account_crm_id, currency, lines: list[(product_crm_id, sku, qty, unit_price Decimal)],
                 status="draft"|"activated") -> crm_id
    read_status(entity, crm_id) -> dict with at least "state" and "message" (what a user sees)
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from application.errors import NotFound
from application.ports import SyncStatus


def _uid() -> str:
    return uuid.uuid4().hex[:10]


class CrmGatewayContract:
    def test_an_account_reads_back_in_canonical_fields(self, gateway, crm_seed):
        crm_id = crm_seed.create_account({"name": f"Acme {_uid()}", "email": "ap@acme.example", "currency": "EUR",
                                          "bill_to.city": "Paris", "bill_to.country": "FR"})
        account = gateway.get_account(crm_id)
        assert account.crm_id == crm_id
        assert account.fields["email"] == "ap@acme.example"
        assert account.fields["bill_to.city"] == "Paris" and account.fields["bill_to.country"] == "FR"
        assert account.modified_at

    def test_an_update_is_visible_and_moves_modified_at_forward(self, gateway, crm_seed):
        crm_id = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        before = gateway.get_account(crm_id)
        crm_seed.update_account(crm_id, {"name": "Renamed"})
        after = gateway.get_account(crm_id)
        assert after.fields["name"] == "Renamed" and after.modified_at >= before.modified_at

    def test_an_unknown_account_is_not_found(self, gateway):
        with pytest.raises(NotFound):
            gateway.get_account("001000000000000AAA")

    def test_an_order_reads_back_with_its_lines(self, gateway, crm_seed):
        account = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        sku = f"SKU-{_uid()}"
        product = crm_seed.create_product(sku, "Widget", [("EUR", "month", Decimal("10.00"))])
        order_id = crm_seed.create_order(account, "EUR", [(product, sku, 3, Decimal("10.00"))], status="activated")
        order = gateway.get_order(order_id)
        assert order.account_crm_id == account and order.status.lower() == "activated"
        lines = [(line.sku, line.quantity, line.unit_price.amount) for line in order.lines]
        assert lines == [(sku, 3, Decimal("10.00"))]

    def test_a_product_reads_back_with_its_prices(self, gateway, crm_seed):
        sku = f"SKU-{_uid()}"
        crm_id = crm_seed.create_product(sku, "Widget", [("EUR", "month", Decimal("12.50"))])
        product = gateway.get_product(crm_id)
        assert product.sku == sku
        assert [(p.amount.amount, p.amount.currency, p.period.value) for p in product.prices] == [
            (Decimal("12.50"), "EUR", "month")]

    def test_status_written_back_is_what_the_user_sees(self, gateway, crm_seed):
        crm_id = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        gateway.write_status("account", crm_id, SyncStatus("failed", "currency refused by billing", "corr-1"),
                             f"wb-{_uid()}")
        seen = crm_seed.read_status("account", crm_id)
        assert seen["state"] == "failed" and "currency refused" in seen["message"]

    def test_listing_accounts_pages_through_all_of_them(self, gateway, crm_seed):
        made = {crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"}) for _ in range(3)}
        seen, cursor = set(), None
        for _ in range(10000):
            page = gateway.list_accounts(cursor, 2)
            seen |= {a.crm_id for a in page.items}
            cursor = page.next_cursor
            if cursor is None:
                break
        assert made <= seen
