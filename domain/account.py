"""The Account aggregate: the CRM account, plus the facts billing owns about it."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import SyncedAggregate, entity_id
from domain.canonical import BillingAccount, validate_account_fields
from domain.errors import AccountClosed, IdAlreadyLinked
from domain.sync import FieldMerge, Position, merge_fields, object_is_newer, owner_of
from domain.values import System


class Account(SyncedAggregate):
    @staticmethod
    def create_id(crm_id: str) -> UUID:
        return entity_id("account", crm_id)

    @classmethod
    def register(cls, crm_id: str, fields: Mapping[str, Any], position: Position, correlation_id: str) -> Account:
        clean = validate_account_fields(fields, partial=False)
        positions = {name: list(position) for name in clean}
        return cls(crm_id=crm_id, fields=clean, positions=positions, correlation_id=correlation_id,
                   source_position=list(position))

    @event("Registered")
    def __init__(self, crm_id: str, fields: dict[str, Any], positions: dict[str, list[int]],
                 correlation_id: str, source_position: list[int]) -> None:
        self.crm_id = crm_id
        self.fields = dict(fields)
        self.registered_fields = dict(fields)  # what billing is first created from (a stable request)
        self.positions = dict(positions)
        self.billing: dict[str, Any] = {}
        self.billing_version: str | None = None
        self.orders: list[str] = []
        self.closed = False

    @property
    def billing_id(self) -> str | None:
        value = self.billing.get("billing_account_id")
        return str(value) if value else None

    def apply_crm_change(self, fields: Mapping[str, Any], position: Position, correlation_id: str) -> FieldMerge:
        """A partial update from the CRM; only newer, owned, different fields are recorded."""
        if self.closed:
            raise AccountClosed(f"account {self.crm_id} is closed")
        # Ownership first: a field the CRM does not own is ignored (and reported), not an error.
        foreign = {k: v for k, v in fields.items() if owner_of("account", k) not in (None, System.CRM)}
        clean = validate_account_fields({k: v for k, v in fields.items() if k not in foreign}, partial=True)
        merge = merge_fields("account", self.fields, self.positions, {**clean, **foreign}, position, System.CRM)
        if not merge.is_noop:
            self._details_changed(changes=merge.changes, positions=merge.positions,
                                  correlation_id=correlation_id, source_position=list(position))
        return merge

    @event("DetailsChanged")
    def _details_changed(self, changes: dict[str, Any], positions: dict[str, list[int]],
                         correlation_id: str, source_position: list[int]) -> None:
        self.fields.update(changes)
        self.positions.update(positions)

    def link_billing(self, billing_id: str, account_number: str, correlation_id: str) -> bool:
        if self.billing_id == billing_id:
            return False
        if self.billing_id is not None:
            raise IdAlreadyLinked("billing", billing_id, f"account {self.crm_id} (linked to {self.billing_id})")
        self._billing_linked(billing_account_id=billing_id, billing_account_number=account_number,
                             correlation_id=correlation_id)
        return True

    @event("BillingLinked")
    def _billing_linked(self, billing_account_id: str, billing_account_number: str, correlation_id: str) -> None:
        self.billing.update(billing_account_id=billing_account_id, billing_account_number=billing_account_number)

    def apply_billing_state(self, account: BillingAccount, correlation_id: str) -> dict[str, Any]:
        """The billing object applied whole, ordered by its own version; stale or equal -> nothing.

        Only billing-owned facts are taken; billing's values of CRM-owned fields are never applied
        (`foreign_disagreements` names them, for the log)."""
        if not object_is_newer(account.version, self.billing_version):
            return {}
        incoming = {"billing_account_number": account.account_number,
                    "balance": Decimal(account.balance), "payment_state": account.payment_state}
        changes = {k: v for k, v in incoming.items() if self.billing.get(k) != v}
        if changes:
            self._billing_state_changed(changes=changes, version=account.version, correlation_id=correlation_id)
        return changes

    def foreign_disagreements(self, account: BillingAccount) -> list[str]:
        """CRM-owned fields on which billing holds another value (ignored: the CRM owns them)."""
        return sorted(k for k, v in account.fields.items()
                      if owner_of("account", k) == System.CRM and self.fields.get(k) != v)

    @event("BillingStateChanged")
    def _billing_state_changed(self, changes: dict[str, Any], version: str, correlation_id: str) -> None:
        self.billing.update(changes)
        self.billing_version = version

    def attach_order(self, order_crm_id: str, correlation_id: str) -> None:
        if order_crm_id not in self.orders:
            self._order_attached(order_crm_id=order_crm_id, correlation_id=correlation_id)

    @event("OrderAttached")
    def _order_attached(self, order_crm_id: str, correlation_id: str) -> None:
        self.orders.append(order_crm_id)

    def close(self, correlation_id: str) -> None:
        if not self.closed:
            self._closed(correlation_id=correlation_id)

    @event("Closed")
    def _closed(self, correlation_id: str) -> None:
        self.closed = True
