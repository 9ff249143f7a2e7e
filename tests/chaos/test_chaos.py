"""The proof that nothing is lost (issue 6): chaos runs on the Salesforce sandbox with Zuora, then Stripe.

CRM and billing changes flow through the REAL adapters, use cases, SQS consumer and bus translation
while the vendors answer 5% 5xx and 1% 429, drop 1% and duplicate 1% of their events, queues deliver
in random order and again after failures, every token expires once, two workers run at once, and
3% of the billing writes the vendor accepted end with the worker killed before the store write.
After the queues drained and ONE reconcile --repair, Salesforce and billing are compared directly over
their APIs (tests/chaos/harness/verify.py).

Every bug this run found is fixed and kept as a deterministic test at the end of this module; the run's
own checks carry no xfail.
"""

from __future__ import annotations

import contextlib
import random
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from adapters.billing.zuora import build_zuora_billing
from adapters.memory.billing import MemoryBilling
from adapters.memory.crm import MemoryCrm
from application.app import ConcordApp
from application.commands import ApplyBillingTrigger, SyncAccountFromCrm, SyncProductFromCrm
from application.consistency import reconcile_accounts, reconcile_orders
from application.errors import RetryableError
from application.handlers import handle
from application.replay import correlation_differences, rebuild_correlations
from application.services import Services
from domain.canonical import CrmAccount, PriceSpec, ProductSnapshot
from domain.order import Order, OrderStatus
from domain.sync import CrmChange
from domain.values import BillingPeriod, Money
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.chaos.conftest import CHANGES
from tests.chaos.harness.crash import CrashingBilling, WorkerKilled
from tests.chaos.harness.run import Figures
from tests.unit.conftest import World


# Found by this run and fixed (each has a deterministic test below, now plain):
# - stale positions: a whole-record read was placed at LastModifiedDate (seconds) while CDC has ms;
# - price key without the amount: a version number reused after a crash got the stored old price;
# - retired price race: billing retired the old price before concord recorded the new one;
# - a CRM change to a suspended order was silently ignored (now retried with its reason);
# - a price created by a killed worker stayed an unknown, active orphan in billing;
# - reconcile's blind spot: a CRM value billing never received was not drift (the port now says which
#   account fields a vendor holds);
# - the lost version race: a worker that lost the store's race had written older values to billing
#   after the winner (accounts, products, amendments); the retry now pushes the stored state whole;
# - a retry that found its subscription cancelled by a clerk meanwhile recorded the order ACTIVE;
# - quantity changes left in the DLQ behind a suspension (the resume applies them; reconcile compares
#   billing's subscription items with the CRM).
def _found(chaos: Figures, *kinds: str) -> dict[str, list[object]]:
    return {kind: chaos.after.disagreements[kind] for kind in kinds if chaos.after.disagreements.get(kind)}


def test_the_run_prints_its_figures(chaos: Figures, capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        print(f"\n== chaos run ({chaos.vendor}) ==\n" + "\n".join(chaos.lines()))


def test_the_run_made_every_kind_of_change_under_every_kind_of_fault(chaos: Figures) -> None:
    assert sum(chaos.changes.values()) >= CHANGES
    assert {
        "create_account",
        "edit_account",
        "activate_order",
        "change_price",
        "cancel_subscription",
        "payment",
    } <= set(chaos.changes)
    for fault in ("5xx", "429", "events_dropped", "events_duplicated", "workers_killed"):
        assert chaos.faults[fault] > 0, fault
    assert sum(q["redelivered"] for q in chaos.queues.values()) > 0


def test_every_dead_letter_carries_its_reason(chaos: Figures) -> None:
    assert chaos.unlabelled_dead_letters == 0


def test_no_order_became_two_subscriptions(chaos: Figures) -> None:
    assert _found(chaos, "duplicate_subscriptions", "subscription_without_activated_order") == {}


def test_no_crm_account_became_two_billing_accounts(chaos: Figures) -> None:
    assert _found(chaos, "duplicate_billing_accounts", "orphan_billing_accounts") == {}


def test_accounts_agree_on_every_shared_field_after_one_reconcile(chaos: Figures) -> None:
    assert _found(chaos, "account_missing_in_billing", "account_field_mismatch") == {}


def test_every_activated_order_has_its_subscription_in_the_state_billing_says(chaos: Figures) -> None:
    assert (
        _found(chaos, "order_missing_in_billing", "subscription_on_wrong_account", "order_status_mismatch")
        == {}
    )


def test_no_activated_order_was_refused_by_billing(chaos: Figures) -> None:
    assert _found(chaos, "order_rejected_by_billing") == {}


def test_subscription_quantities_follow_the_crm_after_one_reconcile(chaos: Figures) -> None:
    assert _found(chaos, "subscription_quantity_mismatch") == {}


def test_the_catalog_agrees_after_one_reconcile(chaos: Figures) -> None:
    assert _found(chaos, "product_name_mismatch", "product_price_mismatch") == {}


# Billing amends active subscriptions only (DESIGN §3): a quantity change made while the subscription
# is still suspended at the end of the run waits for the payment that resumes it. That is the one
# disagreement allowed, and verify flags it only when billing says the subscription is suspended.
WAITING = {"quantity_waiting_while_suspended"}


def test_nothing_else_disagrees_after_one_reconcile(chaos: Figures) -> None:
    assert {kind: found for kind, found in chaos.after.disagreements.items() if found and kind not in WAITING} == {}


def test_the_correlation_lookup_rebuilt_from_the_log_equals_the_live_one_after_the_run(
    chaos: Figures,
) -> None:
    model = rebuild_correlations(chaos.app)
    assert len(model.links) >= chaos.after.counts["crm_accounts"]
    assert correlation_differences(chaos.app, model) == []


# -- what the run found, reproduced deterministically (strict: each turns green once fixed) -----------


def _concord(crm: MemoryCrm, billing: Any) -> Services:
    return Services(ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), crm, billing)


def _change(crm_id: str, change_type: str, fields: dict[str, Any], commit_ms: int, number: int) -> CrmChange:
    return CrmChange(
        "account",
        (crm_id,),
        change_type,
        fields,
        (number, 1),
        commit_ms,
        "ui",
        f"tx{number}",
        f"evt{number}",
        needs_fetch=False,
    )


def test_a_killed_create_then_the_first_delivery_of_another_event_makes_one_billing_account() -> None:
    """Found by this run (before 928320e): the account's create key digested in-flight fields."""
    crm, billing = MemoryCrm(), MemoryBilling()
    svc = _concord(crm, billing)
    crm.accounts["001A"] = CrmAccount(
        "001A", {"name": "Acme GmbH", "currency": "EUR"}, "2026-11-22T10:00:01Z"
    )
    update = _change("001A", "update", {"name": "Acme GmbH"}, 1_795_341_201_000, 2)
    billing.fail_next(RetryableError("no answer", code="TIMEOUT"), method="create_account", after_effect=True)
    with pytest.raises(RetryableError):  # created in billing, the answer lost: nothing saved in concord
        handle(SyncAccountFromCrm(update, "c1", attempt=1), svc)
    create = _change("001A", "create", {"name": "Acme Ltd", "currency": "EUR"}, 1_795_341_200_500, 1)
    handle(SyncAccountFromCrm(create, "c2", attempt=1), svc)  # another message, delivered for the 1st time
    assert [a.crm_id for a in billing.accounts.values()] == ["001A"]


def test_an_older_create_event_of_the_same_second_does_not_undo_a_whole_record_read() -> None:
    crm, billing = MemoryCrm(), MemoryBilling()
    svc = _concord(crm, billing)
    # Created at 10:00:00.400 as "Acme Ltd", renamed at 10:00:00.700; Salesforce shows LastModifiedDate
    # 10:00:00.000 (whole seconds). The rename's event arrives first: concord reads the record whole.
    crm.accounts["001A"] = CrmAccount(
        "001A", {"name": "Acme GmbH", "currency": "EUR"}, "2026-11-22T10:00:00.000Z"
    )
    second = 1_795_341_600_000
    handle(SyncAccountFromCrm(_change("001A", "update", {"name": "Acme GmbH"}, second + 700, 2), "c1"), svc)
    handle(
        SyncAccountFromCrm(
            _change("001A", "create", {"name": "Acme Ltd", "currency": "EUR"}, second + 400, 1), "c2"
        ),
        svc,
    )
    assert [a.fields["name"] for a in billing.accounts.values()] == ["Acme GmbH"]


def test_a_price_change_after_a_worker_was_killed_mid_price_sync_reaches_billing() -> None:
    sandbox = ZuoraSandbox("chaos-price", "secret")
    url = sandbox.start()
    try:
        billing = CrashingBilling(build_zuora_billing(url, "chaos-price", "secret"), 0.0, random.Random(1))
        crm = MemoryCrm()
        svc = _concord(crm, billing)

        def price(amount: str) -> None:
            spec = PriceSpec(Money(Decimal(amount), "EUR"), BillingPeriod.MONTH)
            crm.put_product(ProductSnapshot("01tP", "WIDGET", "Widget", prices=(spec,)))
            with contextlib.suppress(WorkerKilled):
                handle(SyncProductFromCrm("01tP", f"price-{amount}"), svc)

        price("10.00")
        billing.rate = 1.0  # the worker dies right after the vendor created the 12.00 price
        price("12.00")
        billing.rate = 0.0
        price("13.00")
        catalog = billing.inner.client.call("GET", "/v1/catalog/product/WIDGET")
        active = {
            Decimal(str(tier["price"]))
            for plan in catalog["productRatePlans"]
            if plan["status"] == "Active"
            for charge in plan["productRatePlanCharges"]
            for tier in charge["pricing"]
        }
        assert active == {Decimal("13.00")}
    finally:
        sandbox.stop()


def test_an_order_activated_while_a_price_change_is_half_done_gets_its_subscription() -> None:
    world = World()
    world.new_account()
    world.product(amount="10.00")
    # The price changes; the worker dies right after billing retired the old price (the new one exists).
    world.billing.fail_next(
        RetryableError("no answer", code="TIMEOUT"), method="retire_price", after_effect=True
    )
    with pytest.raises(RetryableError):
        world.product(amount="12.00")
    world.order()  # concord still holds the old price as current: billing refuses it, for good
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE


def test_a_quantity_change_made_while_suspended_reaches_billing_once_resumed() -> None:
    world = World()
    account_id, _ = world.suspend_with_a_quantity_change_waiting()  # the CRM changed it while suspended
    world.billing.set_payment_state(account_id, "current")
    handle(ApplyBillingTrigger("payment", "pay_2", account_id, "PaymentProcessed", "c2"), world.services)
    world.order(quantity=5)  # the queue delivers it again once the subscription is active
    [subscription] = world.billing.subscriptions.values()
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert [item.quantity for item in subscription.items] == [5]


def test_reconcile_reports_a_crm_value_billing_never_received() -> None:
    world = World()
    world.new_account("001A")
    world.crm.put_account({"sold_to.city": "Porto"}, "001A")  # the change event was lost on the way
    report = reconcile_accounts(world.services, repair=False, correlation_id="rc")
    assert dict(report.counts) == {"field_mismatch": 1}


def test_a_worker_that_loses_the_version_race_leaves_billing_with_the_winners_product_name() -> None:
    world = World()
    world.product("01tP", "WIDGET")
    write = world.billing.ensure_product

    def while_another_worker_syncs(product: ProductSnapshot, key: str) -> Any:
        if product.name == "Widget r1":  # worker A read r1; worker B reads r2 and finishes first
            world.crm.put_product(replace(world.crm.products["01tP"], name="Widget r2"))
            handle(SyncProductFromCrm("01tP", "worker-b"), world.services)
        return write(product, key)

    world.billing.ensure_product = while_another_worker_syncs  # type: ignore[method-assign]
    world.crm.put_product(replace(world.crm.products["01tP"], name="Widget r1"))
    handle(SyncProductFromCrm("01tP", "worker-a"), world.services)
    assert [p["name"] for p in world.billing.products.values()] == ["Widget r2"]


def test_a_worker_that_loses_the_version_race_leaves_billing_with_the_winners_account_fields() -> None:
    world = World()
    world.new_account("001A")
    write = world.billing.update_account

    def while_another_worker_syncs(billing_id: str, fields: Any, key: str) -> Any:
        if fields.get("phone") == "+44 1":  # worker A writes +44 1; worker B syncs +44 2 first
            world.crm.put_account({"phone": "+44 2"}, "001A")
            world.sync_account(world.change("001A", {"phone": "+44 2"}, commit=300))
        return write(billing_id, fields, key)

    world.billing.update_account = while_another_worker_syncs  # type: ignore[method-assign]
    world.crm.put_account({"phone": "+44 1"}, "001A")
    world.sync_account(world.change("001A", {"phone": "+44 1"}, commit=200))
    assert [a.fields.get("phone") for a in world.billing.accounts.values()] == ["+44 2"]


def test_a_subscription_cancelled_before_the_retry_that_finds_it_leaves_the_order_cancelled() -> None:
    world = World()
    world.new_account()
    world.product()
    world.billing.fail_next(
        RetryableError("no answer", code="TIMEOUT"), method="create_subscription", after_effect=True
    )
    with pytest.raises(RetryableError):  # created in billing, the answer lost: the order stays submitted
        world.order()
    [subscription] = world.billing.subscriptions
    world.billing.cancel_in_billing(subscription, date(2026, 12, 31))  # a billing clerk, meanwhile
    world.order()  # the retry finds the subscription
    reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED
