"""Reconciliation (drift by kind, repair through the normal commands) and a resumable backfill."""

from __future__ import annotations

from dataclasses import replace

from application.backfill import backfill_accounts
from application.consistency import last_reconciliation, reconcile_accounts
from domain.account import Account
from domain.canonical import BillingAccount


def _crm_accounts(world, n):
    return [world.crm.put_account({"name": f"Acme {i}", "currency": "EUR", "email": f"ap{i}@acme.example"}).crm_id
            for i in range(n)]


def test_backfill_loads_every_crm_account_into_billing_through_the_normal_sync(world):
    ids = _crm_accounts(world, 7)
    job = backfill_accounts(world.services, since="1970-01-01", correlation_id="bf", page_size=3)
    assert job.done and job.loaded == 7
    assert {a.crm_id for a in world.billing.accounts.values()} == set(ids)
    assert all(world.app.get_or_none(Account, i).billing_id for i in ids)


def test_a_killed_backfill_resumes_from_its_checkpoint_without_redoing_pages(world):
    _crm_accounts(world, 9)
    backfill_accounts(world.services, since="t0", correlation_id="bf", page_size=3, max_pages=1)  # killed
    listed_before = world.crm.calls["list_accounts"]
    job = backfill_accounts(world.services, since="t0", correlation_id="bf", page_size=3)
    assert job.done and job.loaded == 9
    assert world.crm.calls["list_accounts"] - listed_before == 2  # the two remaining pages only
    assert len(world.billing.accounts) == 9


def test_reconcile_reports_drift_by_kind_and_repair_makes_both_sides_agree(world):
    ids = _crm_accounts(world, 4)
    backfill_accounts(world.services, since="x", correlation_id="bf", page_size=10)
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
