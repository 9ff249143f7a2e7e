"""What every concord aggregate shares: deterministic ids and the audit trail of sync outcomes."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = UUID("6f1c6a64-6b0e-4c1f-9a8e-2f4b1e0d5c11")


def entity_id(entity: str, crm_id: str) -> UUID:
    """The aggregate id of a CRM-owned record: the same record always lands on the same aggregate."""
    return uuid5(NAMESPACE, f"{entity}:{crm_id}")


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


class SyncedAggregate(Aggregate):
    """An aggregate mirrored in other systems. Every event carries the flow's correlation id."""

    # Plain class attribute, not an annotation: annotations become the created event's fields.
    last_sync = None

    def _status_text(self) -> str:
        """The entity's own status for the CRM user (an order's state; an account open or closed)."""
        status = getattr(self, "status", None)
        if status is not None:
            return str(getattr(status, "value", status))
        return "closed" if getattr(self, "closed", False) else "active"

    def stable_key(self, action: str, payload: Any) -> str:
        """A key that depends on the aggregate and the request only, not on its version: the same
        request from any worker, at any version, is the same key (the vendor makes it one object)."""
        return f"{self.id}:{action}:{_digest(payload)}"

    def idempotency_key(self, action: str, payload: Any = None) -> str:
        """Deterministic per (aggregate, version, action, payload): a retry after a crash reuses it.

        The payload digest keeps two racing writers of one version (one of which will lose the
        store write) from sending different bodies under one key, which vendors refuse (422).
        """
        key = f"{self.id}:{self.version}:{action}"
        return key if payload is None else f"{key}:{_digest(payload)}"

    def record_synced(self, system: str, ids: dict[str, str], correlation_id: str, key: str) -> None:
        self._synced(entity=type(self).__name__, crm_id=str(getattr(self, "crm_id", "")),
                     status=self._status_text(), system=system, ids=ids,
                     correlation_id=correlation_id, idempotency_key=key)

    # `entity` names the aggregate type: these two events are shared by every aggregate class,
    # so their topic alone does not say whose they are (the outbox relay needs it).
    @event("Synced")
    def _synced(self, entity: str, crm_id: str, status: str, system: str, ids: dict[str, str],
                correlation_id: str, idempotency_key: str) -> None:
        self.last_sync = {"state": "synced", "system": system, "ids": ids, "correlation_id": correlation_id}

    def record_sync_failure(self, system: str, code: str, reason: str, correlation_id: str) -> None:
        self._sync_failed(entity=type(self).__name__, crm_id=str(getattr(self, "crm_id", "")),
                          status=self._status_text(), system=system, code=code,
                          reason=reason[:1000], correlation_id=correlation_id)

    @event("SyncFailed")
    def _sync_failed(self, entity: str, crm_id: str, status: str, system: str, code: str, reason: str,
                     correlation_id: str) -> None:
        self.last_sync = {"state": "failed", "system": system, "code": code, "reason": reason,
                          "correlation_id": correlation_id}
