"""Two (or three) workers syncing one record at once, in every order of their vendor writes and saves.

SQS is at-least-once: two Lambda invocations may sync one record together, and a worker may be
killed between its vendor write and its save (its message then comes back). Each worker here runs
in a thread that stops before every vendor write and every store save; a schedule says which
worker takes the next step, so each interleaving is run deterministically. Whatever the order,
billing must end with the newest state, the one concord stored.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import application.app
from application.app import VendorWrites, retry_on_conflict
from application.commands import SyncProductFromCrm
from application.handlers import handle
from domain.account import Account
from domain.canonical import PriceSpec, ProductSnapshot
from domain.product import Product
from domain.values import BillingPeriod, Money
from tests.unit.conftest import World

WAIT_S = 10.0


class WorkerKilled(BaseException):
    """A SIGKILL after the vendor accepted a write: nothing after it runs, nothing is saved."""


@dataclass
class Worker:
    name: str
    run: Callable[[], Any]
    crash_after_writes: int | None = None  # killed right after its n-th vendor write
    redelivery: Callable[[], Worker] | None = None  # what the queue does once it was killed
    writes: int = 0
    done: bool = False
    error: BaseException | None = None


class Interleaving:
    """Threads that run one at a time: `step(w)` lets worker w run up to its next pause point."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._turn: str | None = None
        self.workers: dict[str, Worker] = {}
        self.trace: list[str] = []
        self.billing: PausingBilling | None = None

    def pause(self, label: str) -> None:
        worker = self.workers.get(threading.current_thread().name)
        if worker is None:  # the test's own thread (setup, checks): never held
            return
        with self._cv:
            self.trace.append(f"{worker.name}:{label}")
            self._turn = None
            self._cv.notify_all()
            assert self._cv.wait_for(lambda: self._turn == worker.name, WAIT_S), "worker never resumed"

    def wrote(self) -> None:
        worker = self.workers.get(threading.current_thread().name)
        if worker is not None:
            worker.writes += 1
            if worker.crash_after_writes == worker.writes:
                raise WorkerKilled(f"{worker.name} killed after its vendor write")

    def start(self, worker: Worker) -> None:
        self.workers[worker.name] = worker

        def body() -> None:
            with self._cv:
                assert self._cv.wait_for(lambda: self._turn == worker.name, WAIT_S)
            try:
                worker.run()
            except BaseException as exc:  # recorded, checked by the test
                worker.error = exc
            with self._cv:
                worker.done = True
                self.trace.append(f"{worker.name}:end")
                self._turn = None
                self._cv.notify_all()

        threading.Thread(target=body, name=worker.name, daemon=True).start()

    def live(self) -> list[Worker]:
        return [w for w in self.workers.values() if not w.done]

    def step(self, worker: Worker) -> None:
        with self._cv:
            self._turn = worker.name
            self._cv.notify_all()
            assert self._cv.wait_for(lambda: self._turn is None, WAIT_S), f"{worker.name} is stuck"
        if worker.done and isinstance(worker.error, WorkerKilled) and worker.redelivery is not None:
            self.start(worker.redelivery())  # the message comes back once the visibility timeout passed

    def run(self, choices: Sequence[int]) -> None:
        """Each choice picks a live worker (modulo their number); then all run to the end in turn."""
        for choice in choices:
            live = self.live()
            if not live:
                return
            self.step(live[choice % len(live)])
        while live := self.live():
            self.step(live[0])


class PausingBilling:
    """MemoryBilling whose writes (and account reads) wait for the worker's turn."""

    WRITES = ("create_account", "update_account", "ensure_product", "create_price", "retire_price")
    READS = ("get_account", "find_account")

    def __init__(self, billing: Any, interleaving: Interleaving) -> None:
        self._billing, self._interleaving = billing, interleaving
        self.calls: Counter[str] = Counter()  # concord's own calls (MemoryBilling counts its inner reads too)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._billing, name)
        if name not in self.WRITES + self.READS:
            return target

        def paused(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            self._interleaving.pause(name)
            result = target(*args, **kwargs)
            if name in self.WRITES:
                self._interleaving.wrote()
            return result

        return paused


def _interleaved(world: World, monkeypatch: pytest.MonkeyPatch) -> Interleaving:
    interleaving = Interleaving()
    save = world.app.save

    def paused_save(*aggregates: Any, **kwargs: Any) -> Any:
        interleaving.pause("save")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(world.app, "save", paused_save)
    world.services.billing = interleaving.billing = PausingBilling(world.billing, interleaving)  # type: ignore[assignment]
    monkeypatch.setattr(application.app, "time", SimpleNamespace(sleep=lambda _s: None))
    return interleaving


def _counted(world: World) -> PausingBilling:
    """Counts concord's own billing calls (no worker is registered, so nothing ever waits)."""
    counted = PausingBilling(world.billing, Interleaving())
    world.services.billing = counted  # type: ignore[assignment]
    return counted


def _check_workers(interleaving: Interleaving) -> None:
    for worker in interleaving.workers.values():
        assert worker.done
        if not isinstance(worker.error, WorkerKilled):
            assert worker.error is None, f"{worker.name}: {worker.error!r} ({interleaving.trace})"


# -- accounts ------------------------------------------------------------------------------------

OLD, MIDDLE, NEW = "+44 1", "+44 15", "+44 2"


def _account_race(world: World, monkeypatch: pytest.MonkeyPatch, crash: dict[str, int],
                  third: bool = False) -> Interleaving:
    """Worker a syncs the older phone (commit 200), worker b the newer one (commit 300); a third
    worker c, a change in between (commit 250)."""
    world.new_account("001A")
    world.crm.put_account({"phone": NEW}, "001A")
    interleaving = _interleaved(world, monkeypatch)
    changes = {"a": world.change("001A", {"phone": OLD}, commit=200),
               "b": world.change("001A", {"phone": NEW}, commit=300)}
    if third:
        changes["c"] = world.change("001A", {"phone": MIDDLE, "name": "Acme plc"}, commit=250)

    def worker(name: str, attempt: int) -> Worker:
        change = changes[name[0]]
        return Worker(name, lambda: world.sync_account(change, f"corr-{name[0]}", attempt),
                      crash.get(name), lambda: worker(name + "'", attempt + 1))

    for name in changes:
        interleaving.start(worker(name, 1))
    return interleaving


def _billing_phone(world: World) -> Any:
    (account,) = world.billing.accounts.values()
    return account.fields.get("phone")


def _stored_phone(world: World) -> Any:
    account = world.app.get_or_none(Account, "001A")
    assert account is not None
    return account.fields.get("phone")


def _every_interleaving(setup: Callable[[], tuple[World, Interleaving]],
                        check: Callable[[World, Interleaving], None]) -> int:
    """Runs every distinct order of the workers' steps once (a depth-first walk over the choices,
    replaying each prefix from a fresh world), checks each end state; returns how many there were."""
    pending: list[tuple[int, ...]] = [()]
    runs = 0
    while pending:
        prefix = pending.pop()
        world, interleaving = setup()
        choices = list(prefix)
        position = 0
        while live := interleaving.live():
            if position < len(prefix):
                choice = prefix[position]
            else:
                pending += [(*choices, other) for other in range(1, len(live))]
                choice = 0
                choices.append(choice)
            interleaving.step(live[choice])
            position += 1
        _check_workers(interleaving)
        check(world, interleaving)
        runs += 1
    return runs


def _newest_account_everywhere(world: World, interleaving: Interleaving) -> None:
    assert (_stored_phone(world), _billing_phone(world)) == (NEW, NEW), interleaving.trace


def test_billing_ends_with_the_newest_account_fields_in_every_order_of_two_workers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def setup() -> tuple[World, Interleaving]:
        world = World()
        return world, _account_race(world, monkeypatch, crash={})

    # a's steps and b's: start..write, write..save, save..end (and a retry's, after a lost race)
    assert _every_interleaving(setup, _newest_account_everywhere) >= 20


@pytest.mark.parametrize("killed", [{"a": 1}, {"b": 1}, {"a": 1, "a'": 1},
                                    pytest.param({"a": 1, "b": 1}, marks=pytest.mark.slow)])
def test_a_worker_killed_after_its_write_is_repaired_by_its_redelivery_in_every_order(
        killed: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the vendor accepted its write, before its save; its message comes back (attempt 2,
    and a third delivery when the redelivery is killed too)."""
    redelivered: set[str] = set()

    def setup() -> tuple[World, Interleaving]:
        world = World()
        return world, _account_race(world, monkeypatch, crash=killed)

    def check(world: World, interleaving: Interleaving) -> None:
        _newest_account_everywhere(world, interleaving)
        redelivered.update(name for name in interleaving.workers if name.endswith("'"))

    assert _every_interleaving(setup, check) > 20
    assert redelivered == {f"{name}'" for name in killed} | ({"a''"} if "a'" in killed else set())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(st.integers(0, 5), min_size=6, max_size=20),
       crash=st.fixed_dictionaries({}, optional={"a": st.integers(1, 2), "b": st.integers(1, 2),
                                                 "c": st.integers(1, 2), "a'": st.integers(1, 2),
                                                 "b'": st.integers(1, 2)}),
       third=st.booleans())
def test_billing_ends_with_the_newest_account_fields_whatever_the_kills_and_redeliveries(
        schedule: list[int], crash: dict[str, int], third: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two or three workers; kills after the first or second write of a delivery, its redelivery
    killed too (a third delivery)."""
    world = World()
    interleaving = _account_race(world, monkeypatch, crash=crash, third=third)
    interleaving.run(schedule)
    _check_workers(interleaving)
    (billing,) = world.billing.accounts.values()
    stored = world.app.get_or_none(Account, "001A")
    assert stored is not None and stored.fields["phone"] == NEW
    assert stored.fields["name"] == ("Acme plc" if third else "Acme Ltd")
    assert {k: billing.fields.get(k) for k in stored.fields} == stored.fields, interleaving.trace


def test_the_exact_lost_race_costs_one_more_write_and_no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """a and b both loaded the account; b writes, a writes its older phone after it, b saves first."""
    world = World()
    interleaving = _account_race(world, monkeypatch, crash={})
    a, b = interleaving.workers["a"], interleaving.workers["b"]
    for worker in (a, b, b, a, b):
        interleaving.step(worker)
    assert _billing_phone(world) == OLD  # the race as it was lost: a's older write landed last
    interleaving.run([])
    _check_workers(interleaving)
    assert interleaving.trace == ["a:update_account", "b:update_account", "b:save", "a:save", "b:end",
                                  "a:update_account", "a:save", "a:end"]
    assert _billing_phone(world) == NEW
    assert interleaving.billing is not None
    assert interleaving.billing.calls == {"update_account": 3}  # one each, and a's retry pushing the stored account


def test_the_normal_path_costs_what_it_did(world: World) -> None:
    """No conflict: one write, no read, and a duplicate delivery of the same change costs nothing."""
    world.new_account("001A")
    counted = _counted(world)
    world.sync_account(world.change("001A", {"phone": NEW}, commit=300))
    world.sync_account(world.change("001A", {"phone": NEW}, commit=300))
    assert counted.calls == {"update_account": 1}


def test_a_redelivery_reads_billing_once_and_writes_only_what_billing_lacks(world: World) -> None:
    world.new_account("001A")
    world.sync_account(world.change("001A", {"phone": NEW}, commit=300))
    counted = _counted(world)
    world.sync_account(world.change("001A", {"phone": NEW}, commit=300), attempt=2)
    assert counted.calls == {"get_account": 1}
    (billing_id,) = world.billing.accounts
    world.billing.update_account(billing_id, {"phone": OLD}, "an older write that landed late")
    world.sync_account(world.change("001A", {"phone": NEW}, commit=300), attempt=3)
    assert _billing_phone(world) == NEW
    assert counted.calls == {"get_account": 2, "update_account": 1}


def test_a_retry_after_a_lost_race_sends_the_stored_fields_under_a_key_never_sent_before(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The vendor replays a reused key's answer without applying it: the repush must be a new request."""
    world.new_account("001A")
    keys: list[str] = []
    update = world.billing.update_account

    def recording(billing_id: str, fields: Any, key: str) -> Any:
        keys.append(key)
        if fields.get("phone") == OLD:  # b writes the newer phone and saves while a is in flight
            world.sync_account(world.change("001A", {"phone": NEW}, commit=300), "corr-b")
        return update(billing_id, fields, key)

    monkeypatch.setattr(world.billing, "update_account", recording)
    world.sync_account(world.change("001A", {"phone": OLD}, commit=200), "corr-a")
    assert len(keys) == len(set(keys)) == 3
    assert _billing_phone(world) == NEW
    account = world.app.get_or_none(Account, "001A")
    assert account is not None and account.last_sync is not None
    assert account.last_sync["state"] == "synced"


# -- products ------------------------------------------------------------------------------------

def _product_race(world: World, monkeypatch: pytest.MonkeyPatch, crash: dict[str, int],
                  amounts: tuple[str, str] = ("10.00", "10.00")) -> Interleaving:
    """Worker a reads revision r1 of the product, worker b the later r2; later reads see r2."""
    world.product("01tP", "WIDGET")
    base = world.crm.products["01tP"]

    def revision(name: str, amount: str) -> ProductSnapshot:
        return world.crm.put_product(replace(base, name=name, prices=(
            PriceSpec(Money(Decimal(amount), "EUR"), BillingPeriod.MONTH),)))

    reads = {"a": revision("Widget r1", amounts[0]), "b": revision("Widget r2", amounts[1])}
    interleaving = _interleaved(world, monkeypatch)
    first_read: set[str] = set()
    latest = world.crm.get_product

    def get_product(crm_id: str) -> ProductSnapshot:
        name = threading.current_thread().name
        if name in reads and name not in first_read:
            first_read.add(name)
            return reads[name]
        return latest(crm_id)

    monkeypatch.setattr(world.crm, "get_product", get_product)

    def worker(name: str, attempt: int) -> Worker:
        command = SyncProductFromCrm("01tP", f"corr-{name[0]}", attempt)
        return Worker(name, lambda: handle(command, world.services), crash.get(name),
                      lambda: worker(name + "'", attempt + 1))

    for name in reads:
        interleaving.start(worker(name, 1))
    return interleaving


def _catalog(world: World) -> tuple[Any, ...]:
    product = world.app.get_or_none(Product, "01tP")
    assert product is not None
    active = sorted(p["amount"].amount for p in world.billing.prices.values() if p["active"])
    return product.details["name"], [p["name"] for p in world.billing.products.values()], active


@pytest.mark.slow  # ~1,400 orders: 10-30 s
def test_the_product_race_of_the_chaos_run_in_every_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names only (no price change): a's read r1, b's r2; every order of their writes and saves."""
    def setup() -> tuple[World, Interleaving]:
        world = World()
        return world, _product_race(world, monkeypatch, crash={})

    def check(world: World, interleaving: Interleaving) -> None:
        assert _catalog(world) == ("Widget r2", ["Widget r2"], [Decimal("10.00")]), interleaving.trace

    assert _every_interleaving(setup, check) > 20


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(st.integers(0, 5), min_size=10, max_size=30),
       crash=st.fixed_dictionaries({}, optional={"a": st.integers(1, 3), "b": st.integers(1, 3),
                                                 "a'": st.integers(1, 2)}),
       amounts=st.sampled_from([("10.00", "10.00"), ("12.00", "15.00"), ("15.00", "10.00")]))
def test_billing_ends_with_the_newest_catalog_whatever_the_kills_and_redeliveries(
        schedule: list[int], crash: dict[str, int], amounts: tuple[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    world = World()
    interleaving = _product_race(world, monkeypatch, crash=crash, amounts=amounts)
    interleaving.run(schedule)
    _check_workers(interleaving)
    assert _catalog(world) == ("Widget r2", ["Widget r2"], [Decimal(amounts[1])]), interleaving.trace


@pytest.mark.parametrize("killed", [{"a": 1}, {"a": 1, "a'": 1}])
def test_a_worker_killed_after_its_late_older_product_write_is_repaired_by_its_redelivery(
        killed: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """a saved r1 and stopped before its ensure_product; b synced r2 whole; a's r1 lands, a is killed.
    Its redelivery (and a third delivery, if that one is killed too) sends the stored r2 again."""
    world = World()
    interleaving = _product_race(world, monkeypatch, crash=killed)
    a, b = interleaving.workers["a"], interleaving.workers["b"]
    interleaving.step(a)
    interleaving.step(a)  # a's details r1 are saved; it stops before its vendor write
    while not b.done:
        interleaving.step(b)
    interleaving.step(a)
    assert isinstance(a.error, WorkerKilled)
    assert [p["name"] for p in world.billing.products.values()] == ["Widget r1"]  # as the chaos run left it
    interleaving.run([])
    _check_workers(interleaving)
    assert _catalog(world) == ("Widget r2", ["Widget r2"], [Decimal("10.00")]), interleaving.trace
    assert ("a''" in interleaving.workers) == ("a'" in killed)


def test_a_slow_workers_older_read_of_the_product_brings_back_no_replaced_price(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that read the product (price 12) before another read and synced it whole (price 15)
    changes nothing, though the name did not change (only prices moved the record's read time)."""
    world.product("01tP", "WIDGET", amount="10.00")
    base = world.crm.products["01tP"]

    def priced(amount: str) -> ProductSnapshot:
        return world.crm.put_product(replace(base, prices=(
            PriceSpec(Money(Decimal(amount), "EUR"), BillingPeriod.MONTH),)))

    slow_read, _ = priced("12.00"), priced("15.00")
    handle(SyncProductFromCrm("01tP", "fast"), world.services)
    monkeypatch.setattr(world.crm, "get_product", lambda crm_id: slow_read)
    outcome = handle(SyncProductFromCrm("01tP", "slow"), world.services)
    assert getattr(outcome, "action", None) == "noop"
    assert sorted(p["amount"].amount for p in world.billing.prices.values() if p["active"]) == [Decimal("15.00")]
    product = world.app.get_or_none(Product, "01tP")
    assert product is not None and product.active_price("EUR/month")["amount"] == "15.00"  # type: ignore[index]


def test_a_product_redelivery_sends_the_stored_details_once_more(world: World) -> None:
    """The port cannot read billing's catalog: the one cost of a redelivered catalog message."""
    world.product("01tP", "WIDGET")
    counted = _counted(world)
    handle(SyncProductFromCrm("01tP", "corr-again"), world.services)  # a duplicate: nothing to do
    assert counted.calls == {}
    world.billing.products[next(iter(world.billing.products))]["name"] = "an older write that landed late"
    handle(SyncProductFromCrm("01tP", "corr-again", attempt=2), world.services)
    assert [p["name"] for p in world.billing.products.values()] == ["Widget"]
    assert counted.calls == {"ensure_product": 1}


# -- the retry itself ----------------------------------------------------------------------------

def test_retry_on_conflict_remembers_the_writes_of_the_attempts_that_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(application.app, "time", SimpleNamespace(sleep=lambda _s: None))
    writes = VendorWrites()
    seen: list[list[str]] = []

    def attempt() -> str:
        seen.append(list(writes.overtaken))
        if len(seen) == 1:
            return conflict()  # lost before writing anything
        writes.record(f"k{len(seen)}")
        if len(seen) < 4:
            return conflict()
        return "saved"

    def conflict() -> str:
        raise IntegrityError("version taken")

    assert retry_on_conflict(attempt, writes=writes) == "saved"
    assert seen == [[], [], ["k2"], ["k2", "k3"]]
    assert writes.sent == ["k4"]
