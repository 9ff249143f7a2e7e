"""The concord CLI's own behaviour (the operations are tested where they live)."""

from __future__ import annotations

import json

from entrypoints import cli


def test_a_running_local_stack_fills_in_the_environment_the_shell_left_unset(tmp_path, monkeypatch):
    described = tmp_path / "dev.json"
    described.write_text(json.dumps({"env": {"CONCORD_STAGE": "local", "AWS_ENDPOINT_URL": "http://127.0.0.1:5"}}))
    monkeypatch.setenv("CONCORD_STAGE", "mine")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert cli.use_local_stack(described)
    import os

    assert os.environ["CONCORD_STAGE"] == "mine" and os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5"


def test_without_a_local_stack_nothing_changes(tmp_path):
    assert not cli.use_local_stack(tmp_path / "absent.json")


def test_history_of_an_unknown_id_says_so_and_fails(monkeypatch, capsys):
    monkeypatch.setenv("CONCORD_EVENT_STORE", "memory")
    monkeypatch.chdir("/")  # no .concord/dev.json here
    assert cli.main(["history", "account", "001DOESNOTEXIST"]) == 1
    assert "no account known by '001DOESNOTEXIST'" in capsys.readouterr().err


def test_every_design_section_8_command_is_there():
    parser = cli.build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert {"demo", "dev", "sandbox", "history", "lookup", "sources", "destinations", "credentials",
            "notifications", "dlq", "sync", "reconcile", "salesforce", "status"} <= commands


# -- concord sync backfill: through the real argument parsing, on in-memory ports ---------------------
def _backfill_world(monkeypatch, n=5):
    from entrypoints import cli_aws
    from tests.unit.conftest import World

    world = World()
    for i in range(n):
        world.crm.put_account({"name": f"Acme {i}", "currency": "EUR"})
    monkeypatch.setattr(cli_aws, "_services", lambda: world.services)
    monkeypatch.chdir("/")  # no .concord/dev.json here
    return world


def test_backfill_json_is_one_final_document_on_stdout_and_exit_0_when_done(monkeypatch, capsys):
    world = _backfill_world(monkeypatch)
    assert cli.main(["sync", "backfill", "account", "--page-size", "2", "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert (result["done"], result["loaded"], result["pages"], result["exit_code"]) == (True, 5, 3, 0)
    assert result["api_usage"] is None  # the memory CRM reports no quota unless given one
    assert err == ""  # not a terminal: no progress bar, and never on stdout
    assert len(world.billing.accounts) == 5


def test_backfill_paused_at_the_quota_floor_exits_75_and_says_how_to_go_on(monkeypatch, capsys):
    world = _backfill_world(monkeypatch, n=6)
    world.crm.daily_limit = 4
    monkeypatch.setenv("CONCORD_SALESFORCE_QUOTA_FLOOR", "1")
    assert cli.main(["sync", "backfill", "account", "--page-size", "2"]) == 75
    out = capsys.readouterr().out
    assert "paused (quota_floor)" in out and "floor 1 kept for live sync" in out
    assert "Run the same command again to continue from page 3" in out
    world.crm.daily_limit = 100  # the rolling window moved on
    assert cli.main(["sync", "backfill", "account", "--page-size", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["loaded"] == 6 and result["paused"] is None
    assert result["api_usage"] == {"used": world.crm.calls.total(), "limit": 100}


def test_backfill_with_failed_records_exits_1_and_lists_them(monkeypatch, capsys):
    from datetime import date
    from decimal import Decimal

    from domain.canonical import OrderLine, OrderSnapshot
    from domain.values import Money

    world = _backfill_world(monkeypatch, n=0)
    world.crm.put_order(OrderSnapshot("801A", "001NOTLOADED", "activated", date(2026, 12, 1), 12, "EUR",
                                      (OrderLine("802L", "SKU", 1, Money(Decimal("10.00"), "EUR")),)))
    assert cli.main(["sync", "backfill", "order", "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] == {"ACCOUNT_PENDING": 1} and result["done"] is True
    assert result["failed_examples"][0]["crm_id"] == "801A"


def test_backfill_refuses_a_since_that_is_not_a_date(monkeypatch, capsys):
    import pytest

    _backfill_world(monkeypatch)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sync", "backfill", "account", "--since", "last tuesday"])
    assert exit_.value.code == 2 and "not an ISO 8601 date" in capsys.readouterr().err


def test_the_progress_bar_draws_on_a_terminal_only():
    import io

    from application.backfill import Progress
    from application.ports import ApiUsage
    from entrypoints.progress import Bar, render

    line = render(Progress("order", 1200, 2000, 3, 600, 2.0, ApiUsage(1234, 100000)))
    assert line.startswith("order [##############..........] 1,200/2,000  60%")
    assert "300/s" in line and "ETA 0:02" in line and "failed 3" in line and "API 1,234/100,000" in line

    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet, loud = io.StringIO(), Tty()
    for stream in (quiet, loud):
        bar = Bar(stream)
        bar(Progress("order", 1, 2, 0, 1, 1.0, None))
        bar.close()
    assert quiet.getvalue() == "" and loud.getvalue().endswith("1/2  50%  1/s  ETA 0:01\n")


def test_a_dead_letter_the_queue_moved_itself_says_what_that_means() -> None:
    from entrypoints.cli_aws import NO_REASON, _reason

    ours = {"MessageAttributes": {"reason": {"StringValue": "PermanentError [53100330]: refused"}}}
    assert _reason(ours) == "PermanentError [53100330]: refused"
    assert _reason({"MessageAttributes": {}}) == NO_REASON  # SQS's redrive after maxReceiveCount
    assert _reason({}) == NO_REASON and "killed, timed out" in NO_REASON
