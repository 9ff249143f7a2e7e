"""The initial load: watermark paging, the normal commands, a checkpoint per page, the quota floor."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from eventsourcing.persistence import StoredEvent

import application.backfill as backfill_module
from application.backfill import estimate_resume, normal_since, run_backfill
from application.commands import SyncOrderFromCrm
from application.errors import RetryableError
from application.handlers import handle
from application.ports import ApiUsage
from domain.account import Account
from domain.canonical import OrderLine, OrderSnapshot, PriceSpec, ProductSnapshot
from domain.order import Order, OrderStatus
from domain.product import Product
from domain.runs import Backfill
from domain.values import BillingPeriod, Money

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _accounts(world, n, start=0):
    return [world.crm.put_account({"name": f"Acme {i}", "currency": "EUR", "email": f"ap{i}@acme.example"}).crm_id
            for i in range(start, start + n)]


def _product(world, i):
    return world.crm.put_product(ProductSnapshot(f"01t{i:015d}", f"SKU-{i}", f"Widget {i}", prices=(
        PriceSpec(Money(Decimal("10.00"), "EUR"), BillingPeriod.MONTH),))).crm_id


def _order(world, i, account, sku, quantity=2):
    return world.crm.put_order(OrderSnapshot(f"801{i:015d}", account, "activated", date(2026, 12, 1), 12, "EUR", (
        OrderLine(f"802{i:015d}", sku, quantity, Money(Decimal("10.00"), "EUR")),))).crm_id


def _run(world, entity, **kwargs):
    kwargs.setdefault("correlation_id", "bf")
    kwargs.setdefault("since", None)
    return run_backfill(world.services, entity, now=lambda: NOW, **kwargs)


def test_accounts_load_through_the_normal_sync_from_the_page_without_a_read_per_record(world):
    ids = _accounts(world, 7)
    job = _run(world, "account", page_size=3)
    assert job.done and job.loaded == 7 and job.total == 7 and job.failed == {}
    assert {a.crm_id for a in world.billing.accounts.values()} == set(ids)
    assert all(world.app.get_or_none(Account, i).billing_id for i in ids)
    assert world.crm.calls["get_account"] == 0
    assert world.crm.calls["changed_accounts"] == 3 and world.crm.calls["count_changed"] == 1


def test_a_page_record_is_placed_like_a_whole_read_so_a_newer_live_change_still_wins(world):
    [crm_id] = _accounts(world, 1)
    _run(world, "account")
    account = world.app.get_or_none(Account, crm_id)
    position = account.positions["name"]
    assert position[1] == 2**62  # FETCHED: a whole-record read, at the end of its LastModifiedDate second
    later_ms = position[0] + 5_000
    world.sync_account(world.change(crm_id, {"name": "Renamed live"}, at_ms=later_ms))
    assert world.app.get_or_none(Account, crm_id).fields["name"] == "Renamed live"


def test_since_loads_only_records_modified_at_or_after_it(world):
    _accounts(world, 3)
    late = _accounts(world, 2, start=3)
    since = world.crm.accounts[late[0]].modified_at
    job = _run(world, "account", since=since)
    assert job.done and job.total == 2 and job.since == normal_since(since)
    assert {a.crm_id for a in world.billing.accounts.values()} == set(late)


def test_products_then_orders_load_with_their_lines_and_prices_from_the_page(world):
    accounts = _accounts(world, 2)
    _run(world, "account")
    skus = {_product(world, i): f"SKU-{i}" for i in range(3)}
    job = _run(world, "product", page_size=2)
    assert job.done and job.loaded == 3
    assert all(world.app.get_or_none(Product, p).billing for p in skus)
    orders = [_order(world, i, accounts[i % 2], f"SKU-{i % 3}") for i in range(5)]
    job = _run(world, "order", page_size=2)
    assert job.done and job.loaded == 5 and job.failed == {}
    assert all(world.app.get_or_none(Order, o).status == OrderStatus.ACTIVE for o in orders)
    assert world.crm.calls["get_order"] == 0 and world.crm.calls["get_product"] == 0


def test_an_order_concord_holds_newer_than_the_page_is_read_again_not_applied_stale(world, monkeypatch):
    [account] = _accounts(world, 1)
    _run(world, "account")
    _product(world, 1)
    _run(world, "product")
    crm_id = _order(world, 1, account, "SKU-1", quantity=2)
    stale = world.crm.changed_orders(None, None, 10)  # the page as read before live sync moved on
    world.crm.put_order(OrderSnapshot(crm_id, account, "activated", date(2026, 12, 1), 12, "EUR", (
        OrderLine("802L", "SKU-1", 5, Money(Decimal("10.00"), "EUR")),)))
    handle(SyncOrderFromCrm(crm_id, "live"), world.services)  # live sync applied the newer order (quantity 5)
    monkeypatch.setattr(world.crm, "changed_orders", lambda since, cursor, limit: stale)
    reads = world.crm.calls["get_order"]
    _run(world, "order")
    assert world.crm.calls["get_order"] == reads + 1  # read again, not taken from the stale page
    assert world.app.get_or_none(Order, crm_id).lines[0]["quantity"] == 5


def test_an_order_waiting_for_its_account_is_reported_and_the_load_goes_on(world):
    _product(world, 1)
    _run(world, "product")
    [account] = _accounts(world, 1)  # not loaded yet
    _order(world, 1, account, "SKU-1")
    job = _run(world, "order")
    assert job.done and job.loaded == 0 and job.failed == {"ACCOUNT_PENDING": 1}
    assert job.examples[0]["code"] == "ACCOUNT_PENDING"


def test_a_killed_load_resumes_at_its_checkpoint_and_redoes_at_most_one_page(world, monkeypatch):
    _accounts(world, 10)
    handled = []
    real = backfill_module.handle

    def killed_on_the_seventh(command, svc):
        if len(handled) == 6:
            raise SystemExit("killed")  # mid-page 3 of 4 (pages of 3)
        handled.append(command)
        return real(command, svc)

    monkeypatch.setattr(backfill_module, "handle", killed_on_the_seventh)
    with pytest.raises(SystemExit):
        _run(world, "account", page_size=3)
    monkeypatch.setattr(backfill_module, "handle", real)
    job = world.app.get_or_none(Backfill, "account", "all")
    assert job.pages == 2 and job.loaded == 6 and not job.done
    listed, counted = world.crm.calls["changed_accounts"], world.crm.calls["count_changed"]
    job = _run(world, "account", page_size=3)
    assert job.done and job.loaded == 10
    assert world.crm.calls["changed_accounts"] - listed == 2  # the killed page again, then the last one
    assert world.crm.calls["count_changed"] == counted  # the total was kept
    assert world.crm.calls["get_account"] == 0
    assert len(world.billing.accounts) == 10


def test_near_the_quota_floor_the_load_pauses_with_its_state_and_continues_later(world):
    _accounts(world, 9)
    world.crm.daily_limit = 5  # count + 2 pages leave 2 calls, under a floor of 2 plus a page
    job = _run(world, "account", page_size=3, floor=2)
    assert not job.done and job.pages == 2 and job.loaded == 6
    assert job.paused["reason"] == "quota_floor"
    assert (job.paused["used"], job.paused["limit"], job.paused["floor"]) == (3, 5, 2)
    stored = world.app.get_or_none(Backfill, "account", "all")
    assert stored.paused == job.paused  # saved, not only in memory
    world.crm.daily_limit = 100  # the rolling window moved on
    job = _run(world, "account", page_size=3, floor=2)
    assert job.done and job.loaded == 9 and job.paused is None
    assert len(world.billing.accounts) == 9


def test_a_quota_refusal_mid_load_pauses_instead_of_failing(world, monkeypatch):
    _accounts(world, 6)
    world.crm.daily_limit = 2  # the count and one page, then REQUEST_LIMIT_EXCEEDED
    # Salesforce recalculates the usage it reports asynchronously: here it lags far behind.
    monkeypatch.setattr(world.crm, "api_usage", lambda: ApiUsage(0, 100))
    job = _run(world, "account", page_size=3)
    assert job.paused["reason"] == "quota_exhausted" and job.loaded == 3


def test_a_vendor_outage_stops_the_load_with_its_checkpoint(world):
    _accounts(world, 6)
    world.billing.fail_next(RetryableError("down", code="HTTP_503"), method="create_account")
    with pytest.raises(RetryableError):
        _run(world, "account", page_size=3)
    assert world.app.get_or_none(Backfill, "account", "all").pages == 0
    assert _run(world, "account", page_size=3).done


def test_resume_estimate_is_when_this_loads_own_calls_leave_the_24h_window():
    recent = [("2026-11-22T10:00:00+00:00", 40), ("2026-11-22T11:00:00+00:00", 40)]
    usage = ApiUsage(used=990, limit=1000)
    # 990 used, floor 20, a page costs 2: 12 calls must leave the window; the first page's 40 do.
    assert estimate_resume(recent, usage, 20, 2, NOW) == "2026-11-23T10:00:00+00:00"
    assert estimate_resume(recent, usage, 60, 2, NOW) == "2026-11-23T11:00:00+00:00"
    assert estimate_resume(recent, usage, 200, 2, NOW) is None  # the rest is other clients' use
    assert estimate_resume(recent, ApiUsage(10, 1000), 20, 2, NOW) == NOW.isoformat()


def test_a_page_done_event_stored_before_the_new_fields_still_replays(world):
    job = Backfill(entity="account", since="all")
    job.checkpoint("c1", 3, failed={"X": 1}, calls=2, at=NOW.isoformat())
    world.app.save(job)
    recorder = world.app.recorder
    stored = recorder.select_events(job.id)
    old_state = json.loads(stored[1].state)
    for name in ("failed", "examples", "calls", "at"):
        old_state.pop(name)
    old = StoredEvent(stored[1].originator_id, stored[1].originator_version, stored[1].topic,
                      json.dumps(old_state).encode())
    replayed = world.app.mapper.to_domain_event(old)
    fresh = world.app.mapper.to_domain_event(stored[0]).mutate(None)
    replayed.mutate(fresh)
    assert (fresh.cursor, fresh.loaded, fresh.pages, fresh.failed) == ("c1", 3, 1, {})


def test_since_names_one_load_whatever_its_spelling():
    assert normal_since("2026-01-01") == normal_since("2026-01-01T00:00:00Z") == "2026-01-01T00:00:00Z"
    assert normal_since("2026-01-01T01:00:00+01:00") == "2026-01-01T00:00:00Z"
    assert normal_since(None) == normal_since("all") == "all"


def test_an_account_created_in_billing_by_a_killed_run_is_adopted_not_created_again(world):
    ids = _accounts(world, 4)
    world.billing.fail_next(RetryableError("timeout", code="TIMEOUT"), method="create_account", after_effect=True)
    with pytest.raises(RetryableError):  # the first create landed in billing, its answer was lost
        _run(world, "account", page_size=2)
    world.billing._replies.clear()  # a day later: the vendor has forgotten the idempotency key
    job = _run(world, "account", page_size=2)
    assert job.done and job.loaded == 4
    assert sorted(a.crm_id for a in world.billing.accounts.values()) == sorted(ids)  # no duplicate


def test_a_resumed_load_of_orders_and_products_reads_no_record_again(world, monkeypatch):
    accounts = _accounts(world, 2)
    _run(world, "account")
    for i in range(3):
        _product(world, i)
    for i in range(6):
        _order(world, i, accounts[i % 2], f"SKU-{i % 3}")
    real, handled = backfill_module.handle, []

    def killed_after(limit):
        def kill(command, svc):
            if len(handled) == limit:
                raise SystemExit("killed")
            handled.append(command)
            return real(command, svc)
        return kill

    for entity, limit in (("product", 2), ("order", 3)):  # mid-page: pages of 2 and of 4
        handled.clear()
        monkeypatch.setattr(backfill_module, "handle", killed_after(limit))
        with pytest.raises(SystemExit):
            _run(world, entity, page_size=2 if entity == "product" else 4)
        monkeypatch.setattr(backfill_module, "handle", real)
        assert _run(world, entity, page_size=2 if entity == "product" else 4).done
    # the records the killed runs had synced came again on the redone page, and matched concord
    assert world.crm.calls["get_product"] == 0 and world.crm.calls["get_order"] == 0
    assert all(world.app.get_or_none(Order, f"801{i:015d}").status == OrderStatus.ACTIVE for i in range(6))


def test_max_pages_bounds_each_run_a_resumed_one_too(world):
    _accounts(world, 7)
    assert _run(world, "account", page_size=2, max_pages=1).pages == 1
    assert _run(world, "account", page_size=2, max_pages=2).pages == 3
    assert _run(world, "account", page_size=2).done


def test_no_resume_estimate_without_a_reported_usage():
    assert estimate_resume([("2026-11-22T10:00:00+00:00", 40)], ApiUsage(0, 0), 20, 2, NOW) is None


def test_an_account_load_the_first_backfill_began_goes_on_from_its_cursor(world):
    from application.backfill import backfill_accounts

    _accounts(world, 6)
    backfill_accounts(world.services, since="all", correlation_id="old", page_size=2, max_pages=1)
    job = _run(world, "account", page_size=2)
    assert job.done and job.loaded == 6 and job.pages == 3
    assert world.crm.calls["changed_accounts"] == 2  # the two pages the first backfill had not done
