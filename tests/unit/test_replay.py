"""Read models rebuilt from the events table alone equal the live ones (issue 6, Replay)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.app import ConcordApp
from application.commands import ApplyBillingTrigger, LinkExternalIds
from application.consistency import reconcile_orders, reconcile_products
from application.correlation import link_ids, lookup
from application.errors import RetryableError
from application.handlers import handle
from application.replay import (
    aggregate_differences,
    correlation_differences,
    rebuild_aggregates,
    rebuild_correlations,
)
from domain.account import Account
from domain.canonical import PriceSpec
from domain.errors import IdAlreadyLinked
from domain.order import Order, OrderStatus
from domain.values import BillingPeriod, Money


def _realistic_history(world) -> None:
    """Accounts synced and edited (one past the snapshot interval), a catalog, orders activated and
    suspended by a failed payment, and ids linked by an external system."""
    for n in range(4):
        world.new_account(f"001A{n}", phone=f"+44 {n}")
    for n in range(60):  # Account snapshots every 50 events: the live read goes through a snapshot
        world.sync_account(world.change("001A0", {"phone": f"+44 7{n}"}))
    world.product("01tP1", "WIDGET")
    world.product("01tP2", "GADGET", amount="12.50")
    world.order("801O1", account="001A1", sku="WIDGET")
    world.order("801O2", account="001A2", sku="GADGET", amount="12.50")
    handle(LinkExternalIds("account", "payment", "pg_42", "001A3", "corr-l"), world.services)
    handle(LinkExternalIds("order", "carrier", "shp-9", "801O1", "corr-l"), world.services)
    billing_id = world.app.get_or_none(Account, "001A1").billing_id
    world.billing.set_payment_state(billing_id, "failed")
    handle(ApplyBillingTrigger("payment", "p-1", billing_id, "PaymentFailed", "corr-pay"), world.services)
    assert world.app.get_or_none(Order, "801O1").status == OrderStatus.SUSPENDED


def test_the_correlation_lookup_rebuilt_from_the_log_equals_the_live_one(world):
    _realistic_history(world)
    model = rebuild_correlations(world.app)
    assert correlation_differences(world.app, model) == []
    assert model.lookup("payment", "pg_42") == lookup(world.app, "payment", "pg_42") != []
    assert model.lookup("carrier", "shp-9")[0]["entity"] == "order"
    assert {entity for entity, _ in model.links} == {"account", "order", "product"}
    assert len(model.claims) >= 4 + 2 + 2  # billing ids, numbers, skus and the two external links


def test_every_aggregate_folded_from_the_log_equals_what_the_repository_loads(world):
    _realistic_history(world)
    rebuilt = rebuild_aggregates(world.app)
    assert aggregate_differences(world.app, rebuilt) == []
    account = rebuilt[Account.create_id("001A0")]
    assert account.version > 60 and account.fields["phone"] == "+44 759"  # folded past the snapshot


def test_a_lookup_the_log_does_not_explain_is_reported(world):
    _realistic_history(world)
    model = rebuild_correlations(world.app)
    model.links[("account", "001A3")]["payment"] = "pg_other"
    model.claims[("account", "billing", "not-in-live")] = "001A0"
    found = correlation_differences(world.app, model)
    assert any("correlation account 001A3" in line for line in found)
    assert any("claim account billing=not-in-live" in line for line in found)


def test_a_rebuilt_aggregate_that_differs_from_the_live_one_is_reported(world):
    _realistic_history(world)
    rebuilt = rebuild_aggregates(world.app)
    rebuilt[Account.create_id("001A2")].fields["name"] = "Tampered"
    assert aggregate_differences(world.app, rebuilt) == [
        f"Account {Account.create_id('001A2')}: rebuilt v{rebuilt[Account.create_id('001A2')].version} "
        f"!= live v{world.app.get_or_none(Account, '001A2').version}"
    ]


_links = st.lists(
    st.tuples(
        st.sampled_from(["account", "order"]),
        st.sampled_from(["c1", "c2", "c3"]),
        st.sampled_from(["billing", "payment", "carrier"]),
        st.sampled_from(["x", "y", "z"]),
    ),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_links)
def test_any_sequence_of_links_and_refusals_rebuilds_to_the_live_lookup(operations):
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    for entity, crm_id, system, external_id in operations:
        # Refused: an id already claimed by another entity, or a second id for one system.
        with contextlib.suppress(IdAlreadyLinked):
            app.save(*link_ids(app, entity, crm_id, {system: external_id}, "corr"))
    model = rebuild_correlations(app)
    assert correlation_differences(app, model) == []
    assert aggregate_differences(app, rebuild_aggregates(app)) == []


# -- reconcile of orders and products: they walk what the log says concord registered ------------


def test_an_activation_that_never_arrived_is_found_and_repaired_through_the_normal_sync(world):
    world.new_account("001A")
    world.product("01tP", "WIDGET")
    world.order("801O", status="draft")
    world.crm.put_order(replace(world.crm.orders["801O"], status="activated"))  # its change event was lost
    report = reconcile_orders(world.services, repair=False, correlation_id="rc")
    assert dict(report.counts) == {"missing_in_billing": 1} and not world.billing.subscriptions
    repaired = reconcile_orders(world.services, repair=True, correlation_id="rc2")
    assert repaired.repaired == 1 and world.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert [s.order_crm_id for s in world.billing.subscriptions.values()] == ["801O"]
    assert dict(reconcile_orders(world.services, repair=False, correlation_id="rc3").counts) == {}


def test_a_cancellation_in_billing_whose_callout_was_lost_is_applied_by_the_repair(world):
    world.new_account("001A")
    world.product("01tP", "WIDGET")
    world.order("801O")
    subscription = world.app.get_or_none(Order, "801O").subscription["id"]
    world.billing.cancel_in_billing(subscription, date(2026, 12, 31))
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert dict(report.counts) == {"status_mismatch": 1}
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED


def test_a_price_change_the_catalog_never_heard_of_is_published_by_the_repair(world):
    world.product("01tP", "WIDGET", amount="10.00")
    world.crm.put_product(
        replace(
            world.crm.products["01tP"],
            prices=(PriceSpec(Money(Decimal("12.00"), "EUR"), BillingPeriod.MONTH),),
        )
    )
    writes = world.billing.writes
    report = reconcile_products(world.services, repair=False, correlation_id="rc")
    assert dict(report.counts) == {"field_mismatch": 1} and world.billing.writes == writes  # a look, no write
    reconcile_products(world.services, repair=True, correlation_id="rc2")
    active = [p for p in world.billing.prices.values() if p.get("active", True)]
    assert [str(p["amount"].amount) for p in active] == ["12.00"]
    assert dict(reconcile_products(world.services, repair=False, correlation_id="rc3").counts) == {}


def test_a_record_the_repair_cannot_read_is_reported_and_the_run_goes_on(world):
    world.new_account("001A")
    world.product("01tP", "WIDGET")
    world.order("801O")
    world.order("801P")
    world.billing.fail_next(RetryableError("billing is down", code="503"), method="get_subscription")
    report = reconcile_orders(world.services, repair=True, correlation_id="rc")
    assert report.counts["check_failed"] == 1 and report.records["crm"] == 2  # the read failed: not compared
    assert "billing is down" in report.examples["check_failed"][0]["reason"]
