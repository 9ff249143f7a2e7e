"""The eventsourcing application: audit history, state as of a time, snapshots, SQLite persistence."""

from __future__ import annotations

from datetime import UTC, datetime

from application.app import ConcordApp, history, state_as_of
from application.commands import LinkExternalIds, WriteBackStatus
from application.correlation import lookup
from application.handlers import handle
from domain.account import Account
from domain.errors import IdAlreadyLinked


def test_history_gives_each_event_with_time_source_position_and_correlation_id(world):
    world.new_account()
    world.sync_account(world.change("001A", {"name": "Renamed"}, commit=777), correlation_id="corr-rename")
    entries = history(world.app, Account.create_id("001A"))
    renamed = entries[-2] if entries[-1].event == "Synced" else entries[-1]
    assert renamed.event == "DetailsChanged" and renamed.correlation_id == "corr-rename"
    assert renamed.changes["changes"] == {"name": "Renamed"}
    assert renamed.source_position[1] == 777
    assert all(isinstance(e.timestamp, datetime) for e in entries)


def test_state_as_of_a_past_time(world):
    world.new_account()
    between = datetime.now(UTC)
    world.sync_account(world.change("001A", {"name": "Later Name"}))
    past = state_as_of(world.app, Account.create_id("001A"), between)
    assert past.fields["name"] == "Acme Ltd"
    assert world.app.get_or_none(Account, "001A").fields["name"] == "Later Name"


def test_a_long_history_is_loaded_from_a_snapshot(world):
    world.new_account()
    for n in range(120):
        world.sync_account(world.change("001A", {"phone": f"+1 {n}"}, commit=1000 + n))
    account_id = Account.create_id("001A")
    assert list(world.app.snapshots.get(account_id))  # snapshots were taken on the way
    assert world.app.repository.get(account_id).fields["phone"] == "+1 119"


def test_the_application_runs_on_sqlite(tmp_path):
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "events.db")}
    app = ConcordApp(env=env)
    account = Account.register("001S", {"name": "Lite", "currency": "EUR"}, (1, 1, 1), "c")
    app.save(account)
    assert ConcordApp(env=env).get_or_none(Account, "001S").fields["name"] == "Lite"


def test_lookup_from_any_systems_id_and_refusal_of_a_taken_id(world):
    world.new_account()
    billing_id = world.app.get_or_none(Account, "001A").billing_id
    [found] = lookup(world.app, "billing", billing_id)
    assert found["crm_id"] == "001A" and found["ids"]["billing"] == billing_id
    handle(LinkExternalIds("account", "payment", "pg_42", "001A", "c"), world.services)
    assert lookup(world.app, "payment", "pg_42")[0]["crm_id"] == "001A"
    world.new_account("001B")
    try:
        handle(LinkExternalIds("account", "payment", "pg_42", "001B", "c"), world.services)
        raise AssertionError("a taken id was linked twice")
    except IdAlreadyLinked as exc:
        assert "001A" in str(exc)


def test_write_back_puts_the_status_on_the_crm_record(world):
    world.new_account()
    handle(WriteBackStatus("account", "001A", "failed", "currency refused", {}, "evt-1", "corr-9"), world.services)
    status = world.crm.statuses[("account", "001A")]
    assert (status.state, status.message, status.correlation_id) == ("failed", "currency refused", "corr-9")
