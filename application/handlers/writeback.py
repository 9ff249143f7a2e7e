"""Write sync status back onto the CRM record; link ids an external system told us."""

from __future__ import annotations

from application.app import retry_on_conflict
from application.commands import LinkExternalIds, WriteBackStatus
from application.correlation import link_ids
from application.ports import SyncStatus
from application.services import Outcome, Services


def write_back_status(command: WriteBackStatus, svc: Services) -> Outcome:
    """The user who changed a record sees, on that record, whether and how it reached billing."""
    status = SyncStatus(state=command.state, message=command.message[:255], correlation_id=command.correlation_id,
                        billing_ids=command.billing_ids)
    svc.crm.write_status(command.entity, command.crm_id, status, idempotency_key=command.event_id)
    return Outcome("written-back", command.state)


def link_external_ids(command: LinkExternalIds, svc: Services) -> Outcome:
    def attempt() -> Outcome:
        pending = link_ids(svc.app, command.entity, command.crm_id, {command.system: command.external_id},
                           command.correlation_id)
        svc.app.save(*pending)
        return Outcome("linked", f"{command.system}={command.external_id}")

    return retry_on_conflict(attempt)
