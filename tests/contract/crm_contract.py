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

    # -- loads: changed_* page by an inclusive (LastModifiedDate, Id) watermark -------------------
    @staticmethod
    def _drain(list_page, since, limit):
        seen, cursor, pages = [], None, 0
        while True:
            page = list_page(since, cursor, limit)
            seen.extend(page.items)
            pages += 1
            cursor = page.next_cursor
            if cursor is None or pages > 10000:
                return seen, pages

    def test_changed_accounts_list_each_record_once_in_watermark_order(self, gateway, crm_seed):
        made = {crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"}) for _ in range(5)}
        for limit in (1, 2, 3):
            seen, _ = self._drain(gateway.changed_accounts, None, limit)
            ids = [a.crm_id for a in seen]
            assert len(ids) == len(set(ids)), f"limit {limit}: a record came twice at a page boundary"
            assert made <= set(ids)
            stamps = [a.modified_at for a in seen]
            assert stamps == sorted(stamps)

    def test_changed_accounts_are_whole_records(self, gateway, crm_seed):
        crm_id = crm_seed.create_account({"name": f"Acme {_uid()}", "email": "ap@acme.example", "currency": "EUR",
                                          "bill_to.city": "Lyon", "bill_to.country": "FR"})
        seen, _ = self._drain(gateway.changed_accounts, None, 50)
        listed = next(a for a in seen if a.crm_id == crm_id)
        assert listed == gateway.get_account(crm_id)

    def test_a_record_created_during_a_load_is_still_listed(self, gateway, crm_seed):
        for _ in range(3):
            crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        first = gateway.changed_accounts(None, None, 1)
        late = crm_seed.create_account({"name": f"Late {_uid()}", "currency": "EUR"})
        seen, cursor = list(first.items), first.next_cursor
        while cursor is not None:
            page = gateway.changed_accounts(None, cursor, 2)
            seen.extend(page.items)
            cursor = page.next_cursor
        assert late in {a.crm_id for a in seen}

    def test_since_keeps_records_modified_at_or_after_it_and_count_agrees(self, gateway, crm_seed):
        first = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        since = gateway.get_account(first).modified_at
        later = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        seen, _ = self._drain(gateway.changed_accounts, since, 2)
        assert {first, later} <= {a.crm_id for a in seen}
        assert all(a.modified_at >= since for a in seen)
        assert gateway.count_changed("account", since) == len(seen)
        assert gateway.count_changed("account", None) >= len(seen)

    def test_since_in_the_future_lists_nothing(self, gateway, crm_seed):
        crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        page = gateway.changed_accounts("2999-01-01T00:00:00Z", None, 10)
        assert list(page.items) == [] and page.next_cursor is None
        assert gateway.count_changed("account", "2999-01-01T00:00:00Z") == 0

    def test_changed_orders_carry_their_lines(self, gateway, crm_seed):
        account = crm_seed.create_account({"name": f"Acme {_uid()}", "currency": "EUR"})
        sku = f"SKU-{_uid()}"
        product = crm_seed.create_product(sku, "Widget", [("EUR", "month", Decimal("10.00"))])
        orders = [crm_seed.create_order(account, "EUR", [(product, sku, n, Decimal("10.00"))], status="activated")
                  for n in (1, 2, 3)]
        seen, _ = self._drain(gateway.changed_orders, None, 2)
        by_id = {o.crm_id: o for o in seen}
        assert len(by_id) == len(seen)
        for n, order_id in zip((1, 2, 3), orders, strict=True):
            assert [(line.sku, line.quantity) for line in by_id[order_id].lines] == [(sku, n)]
            assert by_id[order_id] == gateway.get_order(order_id)
        assert gateway.count_changed("order", None) >= 3

    def test_changed_products_carry_their_prices(self, gateway, crm_seed):
        made = {crm_seed.create_product(f"SKU-{_uid()}", "Widget", [("EUR", "month", Decimal(f"{n}.50"))]): n
                for n in (1, 2, 3)}
        seen, _ = self._drain(gateway.changed_products, None, 2)
        by_id = {p.crm_id: p for p in seen}
        assert len(by_id) == len(seen)
        for crm_id, n in made.items():
            assert [p.amount.amount for p in by_id[crm_id].prices] == [Decimal(f"{n}.50")]
            assert by_id[crm_id] == gateway.get_product(crm_id)
        assert gateway.count_changed("product", None) >= 3
