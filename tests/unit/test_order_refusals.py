"""Orders whose billing side moved on, or refused, while concord was not looking (issue 6 chaos findings).

- A retry that finds the subscription it created follows billing's status (a clerk may have cancelled it).
- A create refused because its price is no longer sold re-fixes its prices under a new key, but only when
  the CRM order line still sells at the catalog's price; else it names the disagreement and waits.
- A suspend, resume or amendment refused because billing already ended the subscription follows billing.
"""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest
from eventsourcing.utils import get_topic

from adapters.aws.outbox import envelope
from application.app import history
from application.commands import SyncOrderFromCrm
from application.consistency import reconcile_orders
from application.errors import PermanentError, RetryableError
from application.handlers import handle
from domain.order import Order, OrderStatus
from entrypoints.lambdas import _translate


def _created_but_answer_lost(world) -> str:
    world.billing.fail_next(RetryableError("no answer", code="TIMEOUT"), method="create_subscription",
                            after_effect=True)
    with pytest.raises(RetryableError):
        world.order()
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.SUBMITTED
    [subscription_id] = world.billing.subscriptions
    return subscription_id


def _events(world, crm_id: str = "801O") -> list[tuple[str, dict]]:
    order = world.app.get_or_none(Order, crm_id)
    return [(entry.event, entry.changes) for entry in history(world.app, order.id)]


def _write_back(world, crm_id: str = "801O"):
    """Every event of the order through the outbox's envelope and the write-back translation, as on the bus."""
    order = world.app.get_or_none(Order, crm_id)
    for stored in world.app.repository.event_store.get(order.id):
        built = envelope(stored, get_topic(type(stored)), lambda _: crm_id)
        if built is None:
            continue
        record = SimpleNamespace(source="concord.domain", detail_type=built["metadata"]["eventName"],
                                 detail=built, correlation_id="corr", event_id=built["metadata"]["eventId"])
        for command in _translate.writeback_commands(record, None):
            handle(command, world.services)
    return world.crm.statuses[("order", crm_id)]


# -- a retry finds the subscription it created ----------------------------------------------------------


def test_a_retry_that_finds_its_subscription_cancelled_in_billing_leaves_the_order_cancelled(ready):
    subscription_id = _created_but_answer_lost(ready)
    ready.billing.cancel_in_billing(subscription_id, date(2026, 12, 31))  # a billing clerk, meanwhile
    cancelled_version = ready.billing.subscriptions[subscription_id].version

    outcome = ready.order()  # the retry finds the subscription

    order = ready.app.get_or_none(Order, "801O")
    assert outcome.action == "cancelled"
    assert order.status == OrderStatus.CANCELLED
    assert order.subscription["id"] == subscription_id and order.subscription_version == cancelled_version
    names = [name for name, _ in _events(ready)]
    assert names[-3:] == ["Activated", "Cancelled", "Synced"]
    changes = dict(_events(ready))
    assert changes["Cancelled"]["source"] == "billing"
    assert changes["Cancelled"]["effective_date"] == "2026-12-31"
    assert changes["Activated"]["version"] == ""  # the active version was never seen by concord
    assert ready.billing.calls["create_subscription"] == 1  # the retry created nothing


def test_the_crm_hears_that_the_order_found_by_a_retry_is_cancelled_in_billing(ready):
    subscription_id = _created_but_answer_lost(ready)
    ready.billing.cancel_in_billing(subscription_id, date(2026, 12, 31))
    ready.order()
    status = _write_back(ready)
    assert status.billing_ids["subscription_status"] == "cancelled"
    assert status.billing_ids["subscription_id"] == subscription_id


def test_a_retry_that_finds_its_subscription_suspended_leaves_the_order_suspended_and_a_payment_resumes_it(ready):
    subscription_id = _created_but_answer_lost(ready)
    ready.billing.suspend_subscription(subscription_id, "clerk-suspends")
    ready.order()
    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.SUSPENDED
    assert [name for name, _ in _events(ready)][-3:] == ["Activated", "Suspended", "Synced"]
    account_id = next(iter(ready.billing.accounts))
    ready.billing.set_payment_state(account_id, "failed")  # why a clerk suspends: the customer did not pay
    ready.trigger("payment", "pay_1", "PaymentFailed", account_id)
    ready.billing.set_payment_state(account_id, "current")
    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert ready.billing.subscriptions[subscription_id].status == "active"


def test_a_callout_for_a_submitted_order_whose_subscription_was_cancelled_activates_then_cancels_it(ready):
    subscription_id = _created_but_answer_lost(ready)
    ready.billing.cancel_in_billing(subscription_id, date(2026, 12, 31))
    ready.trigger("subscription", subscription_id, "SubscriptionChanged")
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED
    assert ready.order().action == "noop"  # the CRM's activation, redelivered, finds nothing left to do


def test_an_order_recorded_active_at_billings_cancelled_version_is_repaired_by_reconcile(ready):
    """Data written before the fix: Activated at the cancelled version. The equal version is applied again."""
    subscription_id = _created_but_answer_lost(ready)
    ready.billing.cancel_in_billing(subscription_id, date(2026, 12, 31))
    found = ready.billing.subscriptions[subscription_id]
    order = ready.app.get_or_none(Order, "801O")
    order._activated(subscription_id=found.billing_id, subscription_number=found.number, version=found.version,
                     correlation_id="old-code")  # what the old activate recorded
    ready.app.save(order)

    report = reconcile_orders(ready.services, repair=True, correlation_id="rc")

    assert report.counts["status_mismatch"] == 1
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED
    assert ready.trigger("subscription", subscription_id, "SubscriptionChanged").action == "noop"  # idempotent


# -- a change refused because billing already cancelled the subscription ----------------------------------


def _cancelled_by_a_clerk_unheard(world) -> str:
    """The order is active; a clerk cancels in billing and the callout saying so is lost."""
    world.order()
    [subscription_id] = world.billing.subscriptions
    world.billing.cancel_in_billing(subscription_id, date(2026, 12, 31))
    return subscription_id


def test_a_payment_failure_after_an_unheard_cancellation_follows_billing_instead_of_dead_lettering(ready):
    subscription_id = _cancelled_by_a_clerk_unheard(ready)
    account_id = next(iter(ready.billing.accounts))
    ready.billing.set_payment_state(account_id, "failed")

    ready.trigger("payment", "pay_1", "PaymentFailed", account_id)  # raised PermanentError [CANCELLED] before

    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.CANCELLED
    assert ready.billing.subscriptions[subscription_id].status == "cancelled"
    assert [name for name, _ in _events(ready)][-2:] == ["Cancelled", "Synced"]
    assert dict(_events(ready))["Cancelled"]["source"] == "billing"
    assert _write_back(ready).billing_ids["subscription_status"] == "cancelled"


def test_a_crm_quantity_change_after_an_unheard_cancellation_cancels_the_order_and_sends_nothing(ready):
    subscription_id = _cancelled_by_a_clerk_unheard(ready)
    outcome = ready.order(quantity=5)
    assert outcome.action == "cancelled"
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED
    assert ready.billing.subscriptions[subscription_id].items[0].quantity == 2
    assert "SyncFailed" not in [name for name, _ in _events(ready)]


def test_a_crm_cancellation_after_an_unheard_cancellation_takes_billings_date(ready):
    _cancelled_by_a_clerk_unheard(ready)
    outcome = ready.order(status="cancelled")
    order = ready.app.get_or_none(Order, "801O")
    assert outcome.action == "cancelled" and order.status == OrderStatus.CANCELLED
    assert dict(_events(ready))["Cancelled"]["source"] == "billing"
    assert dict(_events(ready))["Cancelled"]["effective_date"] == "2026-12-31"


def test_a_refusal_billings_state_does_not_explain_still_fails_with_its_reason(ready):
    ready.order()
    ready.billing.fail_next(PermanentError("quantity above the plan's limit", code="LIMIT"),
                            method="amend_subscription")
    with pytest.raises(PermanentError, match="limit"):
        ready.order(quantity=500)
    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.ACTIVE
    assert order.last_sync["code"] == "LIMIT"


# -- a create refused because billing no longer sells the price the order fixed at submit -----------------


def _submitted_then_price_changed(world, *, line_amount: str = "10.00", new_amount: str = "12.00") -> str:
    """Submitted on the 10.00 price; billing answers 503; the price becomes `new_amount` (old one retired)."""
    world.billing.fail_next(RetryableError("503", code="503"), method="create_subscription")
    with pytest.raises(RetryableError):
        world.order(amount=line_amount)
    order = world.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.SUBMITTED
    old_price = order.prices["WIDGET"]
    world.product(amount=new_amount)
    assert world.billing.prices[old_price]["active"] is False
    return old_price


def test_a_retry_refused_for_a_retired_price_is_not_repriced_when_the_crm_order_sells_at_the_old_one(ready):
    old_price = _submitted_then_price_changed(ready)

    with pytest.raises(PermanentError) as refused:
        ready.order(amount="10.00")  # the CRM order still says 10.00: the customer was sold 10.00

    assert refused.value.code == "PRICE_DISAGREES_WITH_ORDER"
    assert "WIDGET at 10.00 EUR" in refused.value.message and "12.00" in refused.value.message
    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.SUBMITTED  # not rejected: a change to the CRM order sends it again
    assert order.prices["WIDGET"] == old_price
    assert order.last_sync["code"] == "PRICE_DISAGREES_WITH_ORDER"
    assert ready.billing.subscriptions == {}
    assert "Repriced" not in [name for name, _ in _events(ready)]


def test_when_the_crm_order_is_changed_to_the_new_price_the_order_is_repriced_and_asked_under_a_new_key(ready):
    old_price = _submitted_then_price_changed(ready)
    with pytest.raises(PermanentError):
        ready.order(amount="10.00")
    old_key = ready.app.get_or_none(Order, "801O").submission_key

    outcome = ready.order(amount="12.00")  # the sales rep agrees the new price with the customer

    order = ready.app.get_or_none(Order, "801O")
    assert outcome.action == "activated" and order.status == OrderStatus.ACTIVE
    [subscription] = ready.billing.subscriptions.values()
    new_price = subscription.items[0].price_id
    assert new_price != old_price and ready.billing.prices[new_price]["amount"].amount == 12
    assert order.prices == {"WIDGET": new_price} and order.submission_key != old_key
    repriced = dict(_events(ready))["Repriced"]
    assert repriced["previous_prices"] == {"WIDGET": old_price} and repriced["prices"] == {"WIDGET": new_price}
    assert "not active" in repriced["reason"]  # billing's own words: why it was repriced
    assert repriced["idempotency_key"] == order.submission_key
    assert [name for name, _ in _events(ready)][-4:] == ["SyncFailed", "Repriced", "Activated", "Synced"]


def test_an_order_whose_line_already_sells_at_the_new_price_is_repriced_at_once(ready):
    _submitted_then_price_changed(ready, line_amount="12.00")  # submitted on 10.00: the list price then
    outcome = ready.order(amount="12.00")
    assert outcome.action == "activated"
    [subscription] = ready.billing.subscriptions.values()
    assert ready.billing.prices[subscription.items[0].price_id]["amount"].amount == 12
    assert ready.billing.calls["create_subscription"] == 3  # 503, the refusal replayed, the new key


def test_a_worker_killed_after_repricing_asks_again_under_the_new_key_without_repricing_twice(ready):
    _submitted_then_price_changed(ready, line_amount="12.00")
    old_key = ready.app.get_or_none(Order, "801O").submission_key
    create, asked = ready.billing.create_subscription, []

    def killed_before_the_new_key_reaches_billing(request, key):
        asked.append(key)
        if key != old_key and asked.count(key) == 1:
            raise RuntimeError("worker killed")
        return create(request, key)

    ready.billing.create_subscription = killed_before_the_new_key_reaches_billing
    with pytest.raises(RuntimeError):
        ready.order(amount="12.00")
    new_key = ready.app.get_or_none(Order, "801O").submission_key
    assert new_key != old_key  # the repricing was saved before the vendor call

    ready.order(amount="12.00")  # the redelivery

    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.ACTIVE and order.submission_key == new_key
    assert asked == [old_key, new_key, new_key]  # no second repricing: the new intent is asked again
    assert [name for name, _ in _events(ready)].count("Repriced") == 1
    assert len(ready.billing.subscriptions) == 1


def test_a_price_retired_in_billing_before_the_catalog_has_another_is_retried_not_rejected(ready):
    order_price = next(iter(ready.billing.prices))
    ready.billing.prices[order_price]["active"] = False  # a billing clerk archived it; the CRM did not change
    with pytest.raises(RetryableError) as refused:
        ready.order()
    assert refused.value.code == "PRICE_NOT_SOLD"
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.SUBMITTED


def test_only_zuoras_rule_restriction_naming_a_plan_no_longer_effective_is_a_price_no_longer_sold():
    from adapters.billing.zuora.zuora_errors import classify_body
    from application.errors import PriceNotSold

    def body(message: str) -> dict:
        return {"success": False, "reasons": [{"code": 53100330, "message": message}]}

    expired = classify_body(body("product rate plan 8a8b is not effective on 2026-12-01"))
    assert isinstance(expired, PriceNotSold) and "53100330" in expired.message
    for other in ("Cannot suspend subscription A-S00000001 in status Cancelled",
                  "product rate plan 8a8b has no charge"):
        refusal = classify_body(body(other))
        assert type(refusal) is PermanentError and refusal.code == "53100330"


def test_only_stripes_inactive_price_on_an_item_is_a_price_no_longer_sold():
    import httpx

    from adapters.billing.stripe.client import StripeHttp
    from adapters.outbound import StaticTokens
    from application.errors import PriceNotSold

    def answer(error: dict) -> httpx.Response:
        return httpx.Response(400, json={"error": {"type": "invalid_request_error", **error}})

    http = StripeHttp("https://stripe.invalid", tokens=StaticTokens({"stripe": "sk_test"}))
    inactive = http._classify(answer({"message": "The price specified is inactive. This field only accepts active "
                                                 "prices.", "param": "items[0][price]"}))
    assert isinstance(inactive, PriceNotSold) and inactive.field == "items[0][price]"
    cancelled = http._classify(answer({"message": "A canceled subscription can only update its "
                                                  "cancellation_details and metadata."}))
    assert type(cancelled) is PermanentError and cancelled.code == "invalid_request_error"


# -- two workers amend one order at once --------------------------------------------------------------------


def test_a_worker_that_loses_the_version_race_on_an_amendment_leaves_billing_with_the_winners_quantity(ready):
    """Worker A read quantity 3 from the CRM; before its write reaches billing, worker B syncs the newer 5 and
    saves first. A's older write lands last, its save loses the race, and its retry must not leave billing at 3."""
    ready.order()
    [subscription_id] = ready.billing.subscriptions
    write = ready.billing.amend_subscription

    def while_another_worker_amends(billing_id, request, key):
        if request.items[0].quantity == 3:  # worker A is about to write 3: worker B syncs 5 first, whole
            ready.order(quantity=5)
        return write(billing_id, request, key)

    ready.billing.amend_subscription = while_another_worker_amends
    ready.order(quantity=3)

    assert [i.quantity for i in ready.billing.subscriptions[subscription_id].items] == [5]
    assert ready.app.get_or_none(Order, "801O").lines[0]["quantity"] == 5


# -- a CRM change made while the order was suspended --------------------------------------------------------


def _suspended_with_a_waiting_change(world) -> tuple[str, str]:
    world.order(quantity=2)
    account_id = next(iter(world.billing.accounts))
    world.billing.set_payment_state(account_id, "failed")
    world.trigger("payment", "pay_1", "PaymentFailed", account_id)
    with pytest.raises(RetryableError, match="suspended"):  # retried, then dead-lettered: the customer pays later
        world.order(quantity=7)
    [subscription_id] = world.billing.subscriptions
    return account_id, subscription_id


def test_a_change_made_while_suspended_is_applied_by_the_resume_after_its_message_gave_up(ready):
    account_id, subscription_id = _suspended_with_a_waiting_change(ready)
    ready.billing.set_payment_state(account_id, "current")

    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)  # no redelivery of the CRM change

    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.ACTIVE and order.lines[0]["quantity"] == 7
    assert [i.quantity for i in ready.billing.subscriptions[subscription_id].items] == [7]
    assert [name for name, _ in _events(ready)][-4:] == ["Resumed", "Synced", "Amended", "Synced"]


def test_a_resume_in_billing_applies_the_waiting_change_too(ready):
    _, subscription_id = _suspended_with_a_waiting_change(ready)
    ready.billing.resume_subscription(subscription_id, "clerk-resumes")
    assert ready.trigger("subscription", subscription_id, "SubscriptionChanged").action == "resume"
    assert [i.quantity for i in ready.billing.subscriptions[subscription_id].items] == [7]


def test_a_resume_with_no_waiting_change_amends_nothing(ready):
    ready.order(quantity=2)
    account_id = next(iter(ready.billing.accounts))
    ready.billing.set_payment_state(account_id, "failed")
    ready.trigger("payment", "pay_1", "PaymentFailed", account_id)
    ready.billing.set_payment_state(account_id, "current")
    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)
    assert ready.app.get_or_none(Order, "801O").status == OrderStatus.ACTIVE
    assert ready.billing.calls["amend_subscription"] == 0


def test_a_waiting_change_billing_refuses_at_the_resume_leaves_the_resume_saved_and_the_reason_recorded(ready):
    account_id, _ = _suspended_with_a_waiting_change(ready)
    ready.billing.set_payment_state(account_id, "current")
    ready.billing.fail_next(PermanentError("quantity above the plan's limit", code="LIMIT"),
                            method="amend_subscription")
    ready.trigger("payment", "pay_2", "PaymentProcessed", account_id)
    order = ready.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.ACTIVE and order.last_sync["code"] == "LIMIT"


def _billed(world) -> list[int]:
    return [item.quantity for sub in world.billing.subscriptions.values() for item in sub.items]


def test_a_repair_amends_billing_back_to_the_crm_lines_concord_already_holds(world):
    world.new_account()
    world.product()
    world.order(quantity=5)
    world.clerk_sets_quantity(3)
    assert handle(SyncOrderFromCrm("801O", "c1"), world.services).action == "noop"  # the normal sync: nothing new
    assert _billed(world) == [3]
    outcome = handle(SyncOrderFromCrm("801O", "c2", amend_billing=True), world.services)
    assert outcome.action == "amended" and _billed(world) == [5]
    writes = world.billing.writes
    assert handle(SyncOrderFromCrm("801O", "c3", amend_billing=True), world.services).action == "noop"
    assert world.billing.writes == writes  # billing agrees now: a read, no write


def test_a_second_clerk_edit_after_a_repair_is_repaired_under_a_new_key(world):
    world.new_account()
    world.product()
    world.order(quantity=5)
    for quantity in (3, 4):  # the same CRM lines asked for twice: each repair is a request of its own
        world.clerk_sets_quantity(quantity, version=f"clerk-{quantity}")
        handle(SyncOrderFromCrm("801O", f"c{quantity}", amend_billing=True), world.services)
        assert _billed(world) == [5]
