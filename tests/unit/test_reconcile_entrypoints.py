"""`concord reconcile --entity ...`, the scheduled reconcile function and `concord status` (issue 6)."""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace

from application.consistency import last_reconciliation
from entrypoints import cli_aws
from entrypoints.lambdas import reconcile as reconcile_lambda


def _args(entity: str, *, repair: bool = False, as_json: bool = True) -> argparse.Namespace:
    return argparse.Namespace(entity=entity, repair=repair, json=as_json)


def _drifting_world(world):
    world.new_account("001A")
    world.product()
    world.order(quantity=2)
    world.crm.put_account({"name": "Acme Renamed"}, "001A")  # its change event was lost
    return world


def test_the_cli_reconciles_every_entity_in_order_and_exits_1_while_drift_is_left(world, monkeypatch, capsys):
    monkeypatch.setattr(cli_aws, "_services", lambda: _drifting_world(world).services)
    assert cli_aws.reconcile(_args("all")) == 1
    rows = json.loads(capsys.readouterr().out)
    assert list(rows) == ["product", "account", "order"]
    assert rows["account"]["counts"] == {"field_mismatch": 1} and rows["order"]["records"]["crm"] == 1
    assert cli_aws.reconcile(_args("account", repair=True)) == 0
    capsys.readouterr()
    assert cli_aws.reconcile(_args("account")) == 0  # repaired: nothing left
    assert json.loads(capsys.readouterr().out)["counts"] == {}


def test_the_cli_refuses_an_unknown_entity(world, monkeypatch, capsys):
    monkeypatch.setattr(cli_aws, "_services", lambda: world.services)
    assert cli_aws.reconcile(_args("invoice")) == 2
    assert "one of product, account, order, or all" in capsys.readouterr().err


def test_the_scheduled_function_runs_every_entity_unless_its_input_names_one(world, monkeypatch):
    monkeypatch.setattr(reconcile_lambda, "container", lambda: SimpleNamespace(services=lambda: world.services))
    _drifting_world(world)
    assert list(reconcile_lambda.handler({"reason": "schedule"})) == ["product", "account", "order"]
    only = reconcile_lambda.handler({"entity": "account", "repair": True})
    assert list(only) == ["account"] and only["account"]["repaired"] == 1
    assert last_reconciliation(world.services, "account")["repaired"] == 1


def test_status_shows_the_last_run_of_each_entity(world, monkeypatch):
    monkeypatch.setattr(cli_aws, "_services", lambda: _drifting_world(world).services)
    cli_aws.reconcile(_args("account", as_json=False))
    last = cli_aws._last_reconciliations()
    assert last["order"] is None and last["product"] is None
    assert last["account"]["counts"] == {"field_mismatch": 1} and last["account"]["finished_at"]
    assert cli_aws._run_line(last["account"]).endswith("1 CRM records, field_mismatch 1, repaired 0")
    assert cli_aws._run_line(None) == "never"
