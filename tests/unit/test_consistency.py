"""Reconciliation (drift by kind, repair through the normal commands) and a resumable backfill."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from application.backfill import run_backfill
from application.commands import ApplyBillingTrigger
from application.consistency import last_reconciliation, reconcile_accounts, reconcile_orders, reconcile_products
from application.errors import RetryableError
from application.handlers import handle
from domain.account import Account
from domain.canonical import BillingAccount, OrderLine, OrderSnapshot, ProductSnapshot
from domain.order import Order, OrderStatus
from domain.values import Money


def _crm_accounts(world, n):
    return [world.crm.put_account({"name": f"Acme {i}", "currency": "EUR", "email": f"ap{i}@acme.example"}).crm_id
            for i in range(n)]


def test_backfill_loads_every_crm_account_into_billing_through_the_normal_sync(world):
    ids = _crm_accounts(world, 7)
    job = run_backfill(world.services, "account", since=None, correlation_id="bf", page_size=3)
    assert job.done and job.loaded == 7
    assert {a.crm_id for a in world.billing.accounts.values()} == set(ids)
    assert all(world.app.get_or_none(Account, i).billing_id for i in ids)


def test_a_killed_backfill_resumes_from_its_checkpoint_without_redoing_pages(world):
    _crm_accounts(world, 9)
    run_backfill(world.services, "account", since=None, correlation_id="bf", page_size=3, max_pages=1)  # killed
    listed_before = world.crm.calls["changed_accounts"]
    job = run_backfill(world.services, "account", since=None, correlation_id="bf", page_size=3)
    assert job.done and job.loaded == 9
    assert world.crm.calls["changed_accounts"] - listed_before == 2  # the two remaining pages only
    assert len(world.billing.accounts) == 9


def test_reconcile_reports_drift_by_kind_and_repair_makes_both_sides_agree(world):
    ids = _crm_accounts(world, 4)
    run_backfill(world.services, "account", since=None, correlation_id="bf", page_size=10)
    world.crm.put_account({"name": "Never Synced", "currency": "EUR"})  # missing in billing
    drifted = world.app.get_or_none(Account, ids[0]).billing_id
    world.billing.accounts[drifted] = replace(world.billing.accounts[drifted],
                                              fields={**world.billing.accounts[drifted].fields, "name": "Edited"})
    world.billing.accounts["ba_orphan"] = BillingAccount("ba_orphan", "A-ORPHAN", None, {"name": "Orphan"})
    report = reconcile_accounts(world.services, repair=False, correlation_id="rc", page_size=2)
    assert dict(report.counts) == {"missing_in_billing": 1, "field_mismatch": 1, "orphan_in_billing": 1}
    assert report.examples["field_mismatch"][0]["fields"] == ["name"]
    repaired = reconcile_accounts(world.services, repair=True, correlation_id="rc2", page_size=2)
    assert repaired.repaired == 2
    after = reconcile_accounts(world.services, repair=False, correlation_id="rc3", page_size=2)
    assert dict(after.counts) == {"orphan_in_billing": 1}  # billing's own object is reported, never deleted
    assert world.billing.accounts[drifted].fields["name"] == "Acme 0"


def test_each_run_is_recorded_and_the_last_one_is_readable(world):
    _crm_accounts(world, 2)
    reconcile_accounts(world.services, repair=False, correlation_id="rc", page_size=10)
    last = last_reconciliation(world.services)
    assert last is not None and last["counts"] == {"missing_in_billing": 2} and last["records"]["crm"] == 2


# -- accounts: every field the vendor holds, one batched billing read a CRM page -------------------


def test_a_crm_value_billing_never_received_is_a_field_mismatch_and_repair_sends_it(world):
    world.new_account("001A")
    world.crm.put_account({"sold_to.city": "Porto"}, "001A")  # its change event was lost
    report = reconcile_accounts(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"field_mismatch": 1}
    assert report.examples["field_mismatch"][0]["fields"] == ["sold_to.city"]
    [billing] = world.billing.accounts.values()
    assert billing.fields["sold_to.city"] == "Porto"
    assert dict(reconcile_accounts(world.services, repair=False, correlation_id="rc2").counts) == {}


def test_a_field_the_vendor_does_not_hold_is_not_drift(world):
    world.billing.account_fields = frozenset(world.billing.account_fields - {"tax_id"})
    world.new_account("001A")
    world.crm.put_account({"tax_id": "GB1"}, "001A")
    assert dict(reconcile_accounts(world.services, repair=False, correlation_id="rc").counts) == {}


def test_each_crm_page_costs_one_batched_billing_read_and_drift_one_confirming_read(world):
    ids = _crm_accounts(world, 7)
    run_backfill(world.services, "account", since=None, correlation_id="bf", page_size=10)
    drifted = world.app.get_or_none(Account, ids[3]).billing_id
    world.billing.accounts[drifted] = replace(world.billing.accounts[drifted], fields={
        **world.billing.accounts[drifted].fields, "email": None})
    world.billing.calls.clear()
    report = reconcile_accounts(world.services, repair=False, correlation_id="rc", page_size=3)
    assert dict(report.counts) == {"field_mismatch": 1}
    assert world.billing.calls["get_accounts"] == 3  # pages of 3, 3 and 1 CRM records
    assert world.billing.calls["get_account"] == 1  # the drift, read again before it is reported


def test_drift_seen_in_a_lagging_batched_read_but_gone_on_a_single_read_is_not_reported(world):
    world.new_account("001A")
    [billing_id] = world.billing.accounts
    stale = replace(world.billing.accounts[billing_id], fields={"name": "Old name", "currency": "EUR"})
    world.billing.get_accounts = lambda wanted: {billing_id: stale}  # a search index a minute behind
    assert dict(reconcile_accounts(world.services, repair=False, correlation_id="rc").counts) == {}


def test_a_linked_billing_account_gone_from_billing_is_missing_and_a_refused_repair_is_reported(world):
    world.new_account("001A")
    world.billing.accounts.clear()
    report = reconcile_accounts(world.services, repair=True, correlation_id="rc")
    assert report.counts["missing_in_billing"] == 1
    assert report.counts["repair_failed"] == 1 and report.repaired == 0


# -- orders: billing's subscription (status, items, quantities) against the CRM -------------------


def _quantities(world):
    return [[item.quantity for item in s.items] for s in world.billing.subscriptions.values()]


def test_a_change_that_waited_while_suspended_reaches_billing_in_one_repair_when_the_resume_was_lost(world):
    _, subscription_id = world.suspend_with_a_quantity_change_waiting()
    world.billing.resume_subscription(subscription_id, "billing-clerk-resume")  # its callout never came
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert report.counts["status_mismatch"] == 1 and report.counts["quantity_mismatch"] == 1
    assert _quantities(world) == [[5]]
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert dict(reconcile_orders(world.services, repair=False, correlation_id="rc2").counts) == {}


def test_a_change_that_waited_while_suspended_reaches_billing_once_resumed(world):
    account_id, _ = world.suspend_with_a_quantity_change_waiting()
    world.billing.set_payment_state(account_id, "current")
    world.crm.fail_next(RetryableError("salesforce is down", code="503"))  # the resume cannot apply it itself
    handle(ApplyBillingTrigger("payment", "pay_2", account_id, "PaymentProcessed", "c2"), world.services)
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"quantity_mismatch": 1} and report.repaired == 1
    assert _quantities(world) == [[5]]


def test_a_change_waiting_on_a_suspended_subscription_is_reported_and_billing_is_not_written(world):
    world.suspend_with_a_quantity_change_waiting()
    writes = world.billing.writes
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"waiting_while_suspended": 1}
    assert report.examples["waiting_while_suspended"][0]["crm"] == {"WIDGET": 5}
    assert world.billing.writes == writes and _quantities(world) == [[2]]


def _billing_edited_behind_concord(world):
    """The CRM and concord say 5; billing says 3 (a late write of a worker that lost the race, or a clerk)."""
    world.new_account()
    world.product()
    world.order(quantity=5)
    world.clerk_sets_quantity(3)


def test_billing_quantities_that_differ_from_a_crm_concord_agrees_with_are_reported(world):
    """A worker that lost the race wrote its older quantity to billing after the winner's newer one."""
    _billing_edited_behind_concord(world)
    report = reconcile_orders(world.services, repair=False, correlation_id="rc")
    assert dict(report.counts) == {"quantity_mismatch": 1}
    assert report.examples["quantity_mismatch"][0] == {"crm_id": "801O", "crm": {"WIDGET": 5},
                                                       "billing": {"WIDGET": 3}}


def test_repair_amends_billing_back_to_the_crm_quantity_concord_already_holds(world):
    _billing_edited_behind_concord(world)
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert "unrepaired" not in report.counts
    assert _quantities(world) == [[5]]


def test_an_activated_crm_order_concord_never_heard_of_is_found_and_repaired(world):
    world.new_account()
    world.product()
    world.crm.put_order(OrderSnapshot("801Z", "001A", "activated", date(2026, 12, 1), 12, "EUR",
                                      (OrderLine("802Z1", "WIDGET", 3, Money(Decimal("10.00"), "EUR")),)))
    report = reconcile_orders(world.services, repair=True, correlation_id="rc", page_size=1)
    assert dict(report.counts) == {"missing_in_billing": 1} and report.repaired == 1
    assert [s.order_crm_id for s in world.billing.subscriptions.values()] == ["801Z"]
    assert _quantities(world) == [[3]]


def test_a_crm_product_concord_never_heard_of_is_found_and_repaired(world):
    world.crm.put_product(ProductSnapshot("01tQ", "GADGET", "Gadget"))
    report = reconcile_products(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"missing_in_billing": 1} and report.repaired == 1
    assert [p["sku"] for p in world.billing.products.values()] == ["GADGET"]
    assert dict(reconcile_products(world.services, repair=False, correlation_id="rc2").counts) == {}


def test_a_subscription_on_another_billing_account_than_the_crm_orders_is_reported_not_moved(world):
    world.new_account("001A")
    world.new_account("001B")
    world.product()
    world.order(account="001A")
    world.crm.put_order(replace(world.crm.orders["801O"], account_crm_id="001B"))  # moved in the CRM
    writes = world.billing.writes
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"wrong_account": 1} and world.billing.writes == writes
