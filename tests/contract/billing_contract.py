"""The BillingGateway contract: every billing implementation (fake, Zuora, Stripe) passes it.

Subclass `BillingGatewayContract` and provide a `gateway` fixture (a BillingGateway on a fresh or
shared sandbox). Tests use unique CRM ids and keys, so a shared sandbox is fine.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from application.errors import IntegrationError, NotFound, PermanentError
from domain.canonical import ACCOUNT_FIELDS, PriceSpec, ProductSnapshot, SubscriptionItem, SubscriptionRequest
from domain.sync import object_is_newer
from domain.values import BillingPeriod, Money


def _uid() -> str:
    return uuid.uuid4().hex[:12]


ACCOUNT = {"name": "Acme Ltd", "email": "billing@acme.example", "currency": "EUR", "phone": "+44 20 7946 0000",
           "bill_to.street": "1 High Street", "bill_to.city": "London", "bill_to.postal_code": "EC1A 1BB",
           "bill_to.country": "GB"}


# A value for every canonical account field: what a vendor declares it holds must come back as sent.
EVERY_FIELD = {**ACCOUNT, "payment_terms": "Net 30", "tax_id": "GB123456789", "status": "active",
               "bill_to.state": "Greater London", "sold_to.street": "2 Dock Road", "sold_to.city": "Leeds",
               "sold_to.state": "West Yorkshire", "sold_to.postal_code": "LS1 4AP", "sold_to.country": "IE"}


class BillingGatewayContract:
    @pytest.fixture
    def account(self, gateway):
        return gateway.create_account(f"001{_uid()}", ACCOUNT, f"key-{_uid()}")

    @pytest.fixture
    def price(self, gateway):
        sku = f"SKU-{_uid()}"
        product = gateway.ensure_product(ProductSnapshot(f"01t{_uid()}", sku, "Widget Pro"), f"key-{_uid()}")
        spec = PriceSpec(Money(Decimal("49.99"), "EUR"), BillingPeriod.MONTH)
        return sku, product, gateway.create_price(product, spec, f"key-{_uid()}")

    def _request(self, account, price, quantity=2):
        sku, product, price_id = price
        return SubscriptionRequest(f"801{_uid()}", account.billing_id, "EUR", date(2026, 12, 1), 12,
                                   (SubscriptionItem(sku, price_id, product.plan_id, quantity),))

    def test_created_account_is_found_by_its_crm_id(self, gateway):
        crm_id = f"001{_uid()}"
        created = gateway.create_account(crm_id, ACCOUNT, f"key-{_uid()}")
        found = gateway.find_account(crm_id)
        assert found is not None and found.billing_id == created.billing_id
        assert found.crm_id == crm_id and found.account_number

    def test_account_fields_round_trip(self, gateway, account):
        fetched = gateway.get_account(account.billing_id)
        for field in ("name", "email", "currency", "bill_to.city", "bill_to.country"):
            assert fetched.fields.get(field) == ACCOUNT[field], field

    def test_every_field_the_gateway_declares_it_holds_survives_a_create_and_a_read(self, gateway):
        assert set(EVERY_FIELD) == set(ACCOUNT_FIELDS)
        assert {"name", "currency"} <= gateway.account_fields <= set(ACCOUNT_FIELDS)
        created = gateway.create_account(f"001{_uid()}", EVERY_FIELD, f"key-{_uid()}")
        fetched = gateway.get_account(created.billing_id)
        assert {f: fetched.fields.get(f) for f in gateway.account_fields} == {
            f: EVERY_FIELD[f] for f in gateway.account_fields}

    def test_a_held_field_cleared_by_an_update_reads_back_absent(self, gateway):
        created = gateway.create_account(f"001{_uid()}", EVERY_FIELD, f"key-{_uid()}")
        gateway.update_account(created.billing_id, {"sold_to.city": None}, f"key-{_uid()}")
        assert gateway.get_account(created.billing_id).fields.get("sold_to.city") is None

    def test_a_batched_read_answers_the_accounts_it_finds_by_billing_id(self, gateway):
        created = [gateway.create_account(f"001{_uid()}", {**ACCOUNT, "name": f"Acme {n}"}, f"key-{_uid()}")
                   for n in range(12)]  # more than one Stripe search (10 clauses)
        wanted = {a.billing_id: a.crm_id for a in created}
        found = gateway.get_accounts({**wanted, f"missing{_uid()}": f"001{_uid()}"})
        assert set(found) == set(wanted)
        assert {b: (a.crm_id, a.fields["name"]) for b, a in found.items()} == {
            a.billing_id: (a.crm_id, a.fields["name"]) for a in created}
        assert gateway.get_accounts({}) == {}

    def test_same_idempotency_key_creates_one_account(self, gateway):
        crm_id, key = f"001{_uid()}", f"key-{_uid()}"
        first = gateway.create_account(crm_id, ACCOUNT, key)
        second = gateway.create_account(crm_id, ACCOUNT, key)
        assert first.billing_id == second.billing_id

    def test_update_changes_only_the_given_fields(self, gateway, account):
        gateway.update_account(account.billing_id, {"name": "Acme Group"}, f"key-{_uid()}")
        fetched = gateway.get_account(account.billing_id)
        assert fetched.fields["name"] == "Acme Group"
        assert fetched.fields["email"] == ACCOUNT["email"]

    def test_unknown_account_is_not_found(self, gateway):
        with pytest.raises(NotFound):
            gateway.get_account("does-not-exist-" + _uid())

    def test_missing_account_name_is_a_permanent_error(self, gateway):
        with pytest.raises(PermanentError):
            gateway.create_account(f"001{_uid()}", {**ACCOUNT, "name": None}, f"key-{_uid()}")

    def test_find_account_of_an_unknown_crm_id_is_none(self, gateway):
        assert gateway.find_account(f"001{_uid()}") is None

    def test_listing_accounts_pages_through_all_of_them(self, gateway):
        made = {gateway.create_account(f"001{_uid()}", ACCOUNT, f"key-{_uid()}").billing_id for _ in range(3)}
        seen, cursor = set(), None
        for _ in range(1000):
            page = gateway.list_accounts(cursor, 2)
            assert len(page.items) <= 2
            seen |= {a.billing_id for a in page.items}
            cursor = page.next_cursor
            if cursor is None:
                break
        assert made <= seen

    def test_subscription_is_created_active_and_found_by_order(self, gateway, account, price):
        request = self._request(account, price)
        created = gateway.create_subscription(request, f"key-{_uid()}")
        assert created.status == "active" and created.number
        found = gateway.find_subscription(request.order_crm_id)
        assert found is not None and found.billing_id == created.billing_id
        assert gateway.get_subscription(created.billing_id).account_billing_id == account.billing_id

    def test_same_key_creates_one_subscription(self, gateway, account, price):
        request, key = self._request(account, price), f"key-{_uid()}"
        first = gateway.create_subscription(request, key)
        assert first.billing_id == gateway.create_subscription(request, key).billing_id

    def test_suspend_resume_cancel_follow_the_state_table(self, gateway, account, price):
        sub = gateway.create_subscription(self._request(account, price), f"key-{_uid()}")
        suspended = gateway.suspend_subscription(sub.billing_id, f"key-{_uid()}")
        assert suspended.status == "suspended"
        resumed = gateway.resume_subscription(sub.billing_id, f"key-{_uid()}")
        assert resumed.status == "active"
        cancelled = gateway.cancel_subscription(sub.billing_id, date(2026, 12, 31), f"key-{_uid()}")
        assert cancelled.status == "cancelled"
        assert gateway.get_subscription(sub.billing_id).status == "cancelled"

    def test_every_change_gives_a_newer_version(self, gateway, account, price):
        sub = gateway.create_subscription(self._request(account, price), f"key-{_uid()}")
        changed = gateway.suspend_subscription(sub.billing_id, f"key-{_uid()}")
        assert object_is_newer(changed.version, sub.version)

    def test_amending_the_quantity_is_seen_on_the_subscription(self, gateway, account, price):
        request = self._request(account, price, quantity=2)
        sub = gateway.create_subscription(request, f"key-{_uid()}")
        amended_request = self._request(account, price, quantity=5)
        amended = gateway.amend_subscription(sub.billing_id, amended_request, f"key-{_uid()}")
        assert amended.status == "active"
        assert [i.quantity for i in gateway.get_subscription(sub.billing_id).items] == [5]

    def test_a_price_change_is_a_new_price_and_the_old_one_retires(self, gateway, price):
        _sku, product, old_price = price
        new_price = gateway.create_price(product, PriceSpec(Money(Decimal("59.99"), "EUR"), BillingPeriod.MONTH),
                                         f"key-{_uid()}")
        assert new_price != old_price
        gateway.retire_price(product, old_price, f"key-{_uid()}")

    def test_subscribing_to_a_retired_price_is_refused(self, gateway, account, price):
        _sku, product, price_id = price
        gateway.retire_price(product, price_id, f"key-{_uid()}")
        with pytest.raises(IntegrationError):
            gateway.create_subscription(self._request(account, price), f"key-{_uid()}")

    def test_a_price_retired_after_it_was_fixed_is_refused_as_no_longer_sold_under_the_same_key_again(
            self, gateway, account, price):
        from application.errors import PriceNotSold  # the canonical refusal the order reprices on

        sku, product, old_price = price
        request, key = self._request(account, price), f"key-{_uid()}"
        new_price = gateway.create_price(product, PriceSpec(Money(Decimal("59.99"), "EUR"), BillingPeriod.MONTH),
                                         f"key-{_uid()}")
        gateway.retire_price(product, old_price, f"key-{_uid()}")
        for _ in range(2):  # asked again under its key: still refused (a vendor may replay its first answer)
            with pytest.raises(PriceNotSold) as refused:
                gateway.create_subscription(request, key)
            assert refused.value.code == PriceNotSold.CODE
        repriced = SubscriptionRequest(request.order_crm_id, account.billing_id, "EUR", request.effective_date, 12,
                                       (SubscriptionItem(sku, new_price, product.plan_id, 2),))
        created = gateway.create_subscription(repriced, f"key-{_uid()}")
        assert [(i.sku, i.price_id) for i in created.items] == [(sku, new_price)]
