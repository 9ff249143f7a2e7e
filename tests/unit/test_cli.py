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
