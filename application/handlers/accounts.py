"""Sync an account from a CRM change to billing (DESIGN §2.1, §3)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from eventsourcing.domain import Aggregate

from application.app import VendorWrites, retry_on_conflict
from application.commands import SyncAccountFromCrm
from application.correlation import link_ids
from application.errors import IntegrationError, PermanentError
from application.services import Outcome, Services
from domain.account import Account
from domain.canonical import BillingAccount
from domain.correlation import Correlation
from domain.errors import DomainError
from domain.sync import CrmChange, Position, fetched_position, is_echo, is_read_ambiguous


def sync_account_from_crm(command: SyncAccountFromCrm, svc: Services) -> list[Outcome]:
    change = command.change
    if is_echo(change, svc.integration_client):
        svc.log.info("ignored an echo of concord's own CRM write", extra={"crm_ids": list(change.crm_ids)})
        return [Outcome("ignored", "echo of concord's own write")]
    outcomes: list[Outcome] = []
    for crm_id in change.crm_ids:
        writes = VendorWrites()
        outcomes.append(retry_on_conflict(partial(_sync_one, crm_id, change, command, svc, writes), writes=writes))
    return outcomes


def _sync_one(crm_id: str, change: CrmChange, command: SyncAccountFromCrm, svc: Services,
              writes: VendorWrites) -> Outcome:
    correlation_id = command.correlation_id
    account = svc.app.get_or_none(Account, crm_id)
    if change.change_type == "delete":
        if account is None:
            return Outcome("noop", "deleted before it was ever synced")
        account.close(correlation_id)
        svc.app.save(account)
        return Outcome("closed", aggregate_id=str(account.id))
    fields, position = _fields_and_position(crm_id, change, account, svc)
    billing_version: str | None = None
    if account is None:
        # First sight is recorded before any vendor call: two workers seeing the same new record
        # race here, the event store lets one registration win, the other reloads and merges.
        account = Account.register(crm_id, fields, position, correlation_id)
        svc.app.save(account)
        changes: dict[str, Any] = dict(account.fields)
    else:
        merge = account.apply_crm_change(fields, position, correlation_id)
        if merge.not_owned:
            svc.log.warning("ignored fields the CRM does not own", extra={"fields": list(merge.not_owned)})
        changes = merge.changes
        if account.billing_id is not None:
            if writes.may_be_stale or _last_sync_failed(account) or command.force_push:
                # Our write may have landed after the winner's (a lost version race), or a redriven
                # message follows a failure: send the whole stored account, never in-flight values.
                changes = dict(account.fields)
            elif command.attempt > 1:
                changes, billing_version = _behind_in_billing(account, changes, svc)
            if not changes:
                return Outcome("noop", "nothing newer to apply", str(account.id))
    pending = _push_to_billing(account, changes, command, svc, writes, billing_version)
    svc.app.save(account, *pending)
    return Outcome("synced", ",".join(sorted(changes)), str(account.id))


def _behind_in_billing(account: Account, changes: Mapping[str, Any], svc: Services) -> tuple[dict[str, Any], str]:
    """A redelivery may follow a worker killed between its vendor write and its save, and that write
    may have landed after a newer one: billing is read once, and every stored field the vendor holds
    (BillingGateway.account_fields, as reconcile compares them) with another value is sent again with
    the new changes. The billing version read goes into the key: never a key the killed worker sent."""
    assert account.billing_id is not None
    billing = svc.billing.get_account(account.billing_id)
    held = svc.billing.account_fields
    behind = {k: v for k, v in account.fields.items() if k in held and billing.fields.get(k) != v}
    return {**changes, **behind}, billing.version


def _last_sync_failed(account: Account) -> bool:
    last = account.last_sync
    return isinstance(last, dict) and last.get("state") == "failed"


def _fields_and_position(crm_id: str, change: CrmChange, account: Account | None,
                         svc: Services) -> tuple[Mapping[str, Any], Position]:
    """CDC fields as they came, or the whole record read back: after a gap or overflow, on a partial
    first sight, or when the change falls in the same second as an earlier read (DESIGN §3 positions)."""
    ambiguous = account is not None and is_read_ambiguous(account.positions, change.fields, change.committed_at_ms)
    if change.needs_fetch or ambiguous or (account is None and change.change_type != "create"):
        record = svc.crm.get_account(crm_id)
        read_at = int((svc.clock.now() if svc.clock is not None else datetime.now(UTC)).timestamp() * 1000)
        return record.fields, fetched_position(_ms(record.modified_at), read_at)
    return change.fields, change.field_position


def _ms(iso: str) -> int:
    if not iso:
        return 0
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _push_to_billing(account: Account, changes: Mapping[str, Any], command: SyncAccountFromCrm,
                     svc: Services, writes: VendorWrites, billing_version: str | None = None) -> list[Aggregate]:
    """One vendor write for the changed fields; the key is derived, so a retry after a crash reuses it."""
    correlation_id = command.correlation_id
    try:
        if account.billing_id is None:
            return _create_or_adopt(account, correlation_id, svc, writes, redelivered=command.attempt > 1)
        key = _update_key(account, changes, writes, billing_version)
        writes.record(key)
        svc.billing.update_account(account.billing_id, changes, key)
        account.record_synced("billing", {"billing": account.billing_id}, correlation_id, key)
        return []
    except (PermanentError, DomainError) as exc:
        _record_failure(account, exc, correlation_id, svc)
        raise


def _update_key(account: Account, changes: Mapping[str, Any], writes: VendorWrites,
                billing_version: str | None) -> str:
    if writes.may_be_stale:
        return writes.repush_key(account, "update-billing-account", dict(changes))
    if billing_version is not None:
        return account.idempotency_key("update-billing-account", {"fields": dict(changes), "billing": billing_version})
    return account.idempotency_key("update-billing-account", dict(changes))


def _create_or_adopt(account: Account, correlation_id: str, svc: Services, writes: VendorWrites, *,
                     redelivered: bool) -> list[Aggregate]:
    """Consult what we know (Correlation) before any create; on a redelivery, also what billing knows.

    A first delivery cannot have created anything before, so it costs no read. A redelivery may
    follow a crash after the vendor write: within 24 h the key replays the answer, after that the
    lookup by CRM id finds the object, and it is adopted instead of created twice.
    """
    billing = _known_billing_account(account, svc)
    if billing is None and redelivered:
        billing = svc.billing.find_account(account.crm_id)
    if billing is None:
        # Key and body come from the stored registration only, never from in-flight state: every
        # worker or retry that creates this account sends the same request, and the vendor answers
        # them all with one object. Changes made since registration follow as an update.
        # After a refusal (vendors keep failed answers under their key for 24 h) the fixed fields
        # are a new request with a new key.
        body = dict(account.fields) if _last_sync_failed(account) else account.registered_fields
        key = account.stable_key("create-billing-account", body)
        writes.record(key)
        billing = svc.billing.create_account(account.crm_id, body, key)
        since = {k: v for k, v in account.fields.items() if body.get(k) != v}
    else:
        since = dict(account.fields)  # adopted: make it say what the CRM says
    if writes.may_be_stale:
        since = dict(account.fields)  # an update of ours may have landed after a newer one
    if since:
        key = _update_key(account, since, writes, None)
        writes.record(key)
        billing = svc.billing.update_account(billing.billing_id, since, key)
    account.link_billing(billing.billing_id, billing.account_number, correlation_id)
    account.apply_billing_state(billing, correlation_id)
    account.record_synced("billing", {"billing": billing.billing_id, "billing_number": billing.account_number},
                          correlation_id, key)
    ids = {"billing": billing.billing_id, "billing_number": billing.account_number}
    return link_ids(svc.app, "account", account.crm_id, ids, correlation_id)


def _known_billing_account(account: Account, svc: Services) -> BillingAccount | None:
    correlation = svc.app.get_or_none(Correlation, "account", account.crm_id)
    billing_id = correlation.ids.get("billing") if correlation is not None else None
    return svc.billing.get_account(billing_id) if billing_id else None


def _record_failure(aggregate: Any, exc: Exception, correlation_id: str, svc: Services) -> None:
    code = exc.code if isinstance(exc, IntegrationError) else type(exc).__name__
    aggregate.record_sync_failure("billing", code, str(exc), correlation_id)
    svc.app.save(aggregate)
