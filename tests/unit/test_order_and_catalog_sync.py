"""Use cases: catalog to billing, activated order -> subscription, amend, cancel, billing triggers."""

from __future__ import annotations

from datetime import date

import pytest

from application.errors import OutcomeUnknown, PermanentError, RetryableError
from domain.order import Order, OrderStatus
from domain.product import Product


def test_product_and_its_price_reach_billing(world):
    outcome = world.product()
    product = world.app.get_or_none(Product, "01tP")
    version = product.active_price("EUR/month")
    assert outcome.action == "synced"
    assert world.billing.prices[version["price_id"]]["active"]


def test_a_price_change_adds_a_version_and_retires_the_old_one_in_billing(world):
    world.product(amount="10.00")
    old = world.app.get_or_none(Product, "01tP").active_price("EUR/month")
    world.product(amount="12.00")
    product = world.app.get_or_none(Product, "01tP")
    new = product.active_price("EUR/month")
    assert (new["version"], new["amount"]) == (2, "12.00")
    assert world.billing.prices[new["price_id"]]["active"]
    assert not world.billing.prices[old["price_id"]]["active"]


def test_an_unchanged_catalog_sync_is_a_noop(world):
    world.product()
    writes = world.billing.writes
    assert world.product().action == "noop" and world.billing.writes == writes


def test_an_activated_order_becomes_one_subscription(ready):
    outcome = ready.order()
    order = ready.app.get_or_none(Order, "801O")
    assert outcome.action == "activated" and order.status == OrderStatus.ACTIVE
    [subscription] = ready.billing.subscriptions.values()
    assert subscription.order_crm_id == "801O" and subscription.items[0].quantity == 2


def test_a_draft_order_is_received_and_not_sent(ready):
    ready.order(status="draft")
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.RECEIVED
    assert not ready.billing.subscriptions


def test_an_order_for_an_account_not_yet_in_billing_is_retried_later(world):
    world.product()
    world.crm.put_account({"name": "Late", "currency": "EUR"}, "001Z")
    with pytest.raises(RetryableError, match="not in billing yet"):
        world.order(account="001Z")


def test_a_vendor_timeout_leaves_the_order_submitted_and_the_retry_reuses_the_key(ready):
    ready.billing.fail_next(OutcomeUnknown("read timeout"), method="create_subscription", after_effect=True)
    with pytest.raises(OutcomeUnknown):
        ready.order()
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.SUBMITTED
    ready.order()
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert len(ready.billing.subscriptions) == 1


def test_a_permanent_vendor_refusal_rejects_the_order(ready):
    ready.billing.fail_next(PermanentError("invalid term", code="53100320"), method="create_subscription")
    with pytest.raises(PermanentError):
        ready.order()
    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.REJECTED and order.last_sync["state"] == "failed"


def test_a_quantity_change_amends_the_subscription_as_a_new_version(ready):
    ready.order(quantity=2)
    ready.order(quantity=5)
    order = ready.app.get_or_none(Order, "801O")
    [subscription] = ready.billing.subscriptions.values()
    assert order.amendment == 1 and subscription.items[0].quantity == 5


def test_an_existing_subscription_keeps_its_price_after_a_price_change(ready):
    ready.order()
    price_before = ready.app.get_or_none(Order, "801O").prices["WIDGET"]
    ready.product(amount="99.00")
    ready.order(quantity=3)  # an amendment after the price change
    [subscription] = ready.billing.subscriptions.values()
    assert subscription.items[0].price_id == price_before


def test_a_cancellation_in_billing_comes_back_to_the_order(ready):
    ready.order()
    [sub_id] = ready.billing.subscriptions
    ready.billing.cancel_in_billing(sub_id, date(2027, 1, 31))
    outcome = ready.trigger("subscription", sub_id, "SubscriptionChanged")
    order = ready.app.get_or_none(Order, "801O")
    assert outcome.action == "cancel" and order.status == OrderStatus.CANCELLED


def test_a_stale_whole_object_update_is_ignored(ready):
    ready.order()
    [sub_id] = ready.billing.subscriptions
    stale = ready.billing.subscriptions[sub_id]
    ready.billing.cancel_in_billing(sub_id, date(2027, 1, 31))
    ready.trigger("subscription", sub_id, "SubscriptionChanged")
    ready.billing.subscriptions[sub_id] = stale  # an older read arrives late
    assert ready.trigger("subscription", sub_id, "SubscriptionChanged").action == "noop"
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED


def test_a_payment_failure_suspends_the_order_and_a_payment_recovers_it(ready):
    ready.order()
    account_id = next(iter(ready.billing.accounts))
    ready.billing.set_payment_state(account_id, "failed")
    ready.trigger("payment", "pay_1", "PaymentFailed", account_id)
    [subscription] = ready.billing.subscriptions.values()
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.SUSPENDED
    assert subscription.status == "suspended"
    ready.billing.set_payment_state(account_id, "current")
    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE


def test_a_crm_cancellation_cancels_the_subscription(ready):
    ready.order()
    ready.order(status="cancelled")
    [subscription] = ready.billing.subscriptions.values()
    assert subscription.status == "cancelled"
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED


def test_billings_value_of_a_crm_owned_field_is_ignored_and_logged(ready, caplog):
    from dataclasses import replace

    from domain.account import Account

    billing_id = next(iter(ready.billing.accounts))
    current = ready.billing.accounts[billing_id]
    ready.billing.accounts[billing_id] = replace(current, fields={**current.fields, "name": "Renamed In Billing"},
                                                 payment_state="failed", version="999999999999")
    with caplog.at_level("WARNING", logger="concord"):
        ready.trigger("account", billing_id, "AccountChanged")
    account = ready.app.get_or_none(Account, "001A")
    assert account.fields["name"] == "Acme Ltd" and account.billing["payment_state"] == "failed"
    assert any(getattr(r, "fields", None) == ["name"] for r in caplog.records)


def test_a_crm_change_to_a_suspended_order_waits_for_the_resume_and_then_applies(ready):
    ready.order(quantity=2)
    account_id = next(iter(ready.billing.accounts))
    ready.billing.set_payment_state(account_id, "failed")
    ready.trigger("payment", "pay_1", "PaymentFailed", account_id)
    with pytest.raises(RetryableError, match="suspended"):
        ready.order(quantity=7)
    ready.billing.set_payment_state(account_id, "current")
    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)
    ready.order(quantity=7)  # the redelivered message
    [subscription] = ready.billing.subscriptions.values()
    assert subscription.items[0].quantity == 7
