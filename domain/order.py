"""The Order aggregate: a CRM order that becomes a billing subscription, and its state table.

    received --submit--> submitted --activate--> active --amend--> active (a new version)
                            |  (vendor timeout: stays submitted; ask again with the same key)
                            |  (billing no longer sells a price fixed at submit: --reprice--> submitted with
                            |   the catalog's current prices and a new key, when the CRM order line sells
                            |   at that price; else it stays submitted, the reason recorded, for a person)
                            +--reject--> rejected
    active --suspend (payment failed)--> suspended --resume (paid)--> active
    active | suspended --cancel--> cancelled

Any other transition raises InvalidOrderTransition.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from domain.base import SyncedAggregate, entity_id
from domain.canonical import BillingSubscription, OrderLine, OrderSnapshot
from domain.errors import InvalidOrderTransition
from domain.sync import object_is_newer


class OrderStatus(StrEnum):
    RECEIVED = "received"
    SUBMITTED = "submitted"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


ALLOWED: dict[str, frozenset[OrderStatus]] = {
    "submit": frozenset({OrderStatus.RECEIVED}),
    "activate": frozenset({OrderStatus.SUBMITTED}),
    "reject": frozenset({OrderStatus.SUBMITTED, OrderStatus.RECEIVED}),
    "amend": frozenset({OrderStatus.ACTIVE}),
    "suspend": frozenset({OrderStatus.ACTIVE}),
    "resume": frozenset({OrderStatus.SUSPENDED}),
    "cancel": frozenset({OrderStatus.ACTIVE, OrderStatus.SUSPENDED}),
    "revise": frozenset({OrderStatus.RECEIVED}),
    "reprice": frozenset({OrderStatus.SUBMITTED}),
}


def _lines(lines: Sequence[OrderLine]) -> list[dict[str, Any]]:
    return [line.to_dict() for line in lines]


class Order(SyncedAggregate):
    @staticmethod
    def create_id(crm_id: str) -> UUID:
        return entity_id("order", crm_id)

    @classmethod
    def receive(cls, snapshot: OrderSnapshot, correlation_id: str) -> Order:
        return cls(crm_id=snapshot.crm_id, account_crm_id=snapshot.account_crm_id, currency=snapshot.currency,
                   effective_date=snapshot.effective_date.isoformat(), term_months=snapshot.term_months,
                   lines=_lines(snapshot.lines), crm_modified_at=snapshot.modified_at, correlation_id=correlation_id)

    @event("Received")
    def __init__(self, crm_id: str, account_crm_id: str, currency: str, effective_date: str, term_months: int,
                 lines: list[dict[str, Any]], crm_modified_at: str, correlation_id: str) -> None:
        self.crm_id = crm_id
        self.account_crm_id = account_crm_id
        self.currency = currency
        self.effective_date = effective_date
        self.term_months = term_months
        self.lines = lines
        self.crm_modified_at = crm_modified_at
        self.status = OrderStatus.RECEIVED
        self.submission_key: str | None = None
        self.subscription: dict[str, Any] = {}
        self.subscription_version: str | None = None
        self.amendment = 0
        self.prices: dict[str, str] = {}  # sku -> billing price id, fixed when the subscription was made

    def _require(self, action: str) -> None:
        if self.status not in ALLOWED[action]:
            raise InvalidOrderTransition(self.crm_id, self.status.value, action)

    def differs_from(self, snapshot: OrderSnapshot) -> bool:
        return (_lines(snapshot.lines) != self.lines or snapshot.term_months != self.term_months
                or snapshot.effective_date.isoformat() != self.effective_date)

    def revise(self, snapshot: OrderSnapshot, correlation_id: str) -> None:
        """The CRM changed an order not yet submitted: take its lines as they are now."""
        self._require("revise")
        self._revised(lines=_lines(snapshot.lines), term_months=snapshot.term_months,
                      effective_date=snapshot.effective_date.isoformat(), crm_modified_at=snapshot.modified_at,
                      correlation_id=correlation_id)

    @event("Revised")
    def _revised(self, lines: list[dict[str, Any]], term_months: int, effective_date: str,
                 crm_modified_at: str, correlation_id: str) -> None:
        self.lines, self.term_months, self.effective_date = lines, term_months, effective_date
        self.crm_modified_at = crm_modified_at

    def submit(self, prices: dict[str, str], correlation_id: str) -> str:
        """Record the intent to create the subscription; the key is reused until there is an answer."""
        if self.status == OrderStatus.SUBMITTED and self.submission_key is not None:
            return self.submission_key
        self._require("submit")
        self._submitted(idempotency_key=self.idempotency_key("create-subscription"), prices=prices,
                        correlation_id=correlation_id)
        assert self.submission_key is not None
        return self.submission_key

    @event("Submitted")
    def _submitted(self, idempotency_key: str, prices: dict[str, str], correlation_id: str) -> None:
        self.status = OrderStatus.SUBMITTED
        self.submission_key = idempotency_key
        self.prices = dict(prices)

    def reprice(self, prices: dict[str, str], snapshot: OrderSnapshot, reason: str, correlation_id: str) -> str:
        """Billing refused the create: it no longer sells a price fixed at submit (`reason` says so). The
        prices are fixed again and the create is asked under a NEW key (the vendor replays its refusal under
        the old one). The handler checks first that the CRM order line sells at the new price."""
        self._require("reprice")
        key = self.idempotency_key("create-subscription", prices)
        self._repriced(idempotency_key=key, prices=prices, previous_prices=dict(self.prices),
                       lines=_lines(snapshot.lines), reason=reason[:1000], correlation_id=correlation_id)
        return key

    @event("Repriced")
    def _repriced(self, idempotency_key: str, prices: dict[str, str], previous_prices: dict[str, str],
                  lines: list[dict[str, Any]], reason: str, correlation_id: str) -> None:
        self.submission_key = idempotency_key
        self.prices = dict(prices)
        self.lines = lines  # the request is built from the CRM order as it is now

    def activate(self, subscription: BillingSubscription, correlation_id: str) -> None:
        """The subscription exists in billing. One that a retry found may have moved on meanwhile (a billing
        clerk cancelled or suspended it): the order then follows billing's status at once (billing owns it,
        DESIGN §3), so the audit reads Activated, then Cancelled or Suspended with source billing."""
        self._require("activate")
        moved_on = _billing_transition(OrderStatus.ACTIVE, subscription.status)
        # The version is the one the order was activated at: not seen when billing already moved past it.
        self._activated(subscription_id=subscription.billing_id, subscription_number=subscription.number,
                        version="" if moved_on else subscription.version, correlation_id=correlation_id)
        self._follow(moved_on, subscription, correlation_id)

    @event("Activated")
    def _activated(self, subscription_id: str, subscription_number: str, version: str, correlation_id: str) -> None:
        self.status = OrderStatus.ACTIVE
        self.subscription = {"id": subscription_id, "number": subscription_number}
        self.subscription_version = version or None

    def reject(self, reason: str, correlation_id: str) -> None:
        self._require("reject")
        self._rejected(reason=reason[:1000], correlation_id=correlation_id)

    @event("Rejected")
    def _rejected(self, reason: str, correlation_id: str) -> None:
        self.status = OrderStatus.REJECTED

    def amend(self, snapshot: OrderSnapshot, subscription_version: str, correlation_id: str) -> None:
        self._require("amend")
        self._amended(lines=_lines(snapshot.lines), term_months=snapshot.term_months,
                      amendment=self.amendment + 1, subscription_version=subscription_version,
                      crm_modified_at=snapshot.modified_at, correlation_id=correlation_id)

    @event("Amended")
    def _amended(self, lines: list[dict[str, Any]], term_months: int, amendment: int, subscription_version: str,
                 crm_modified_at: str, correlation_id: str) -> None:
        self.lines, self.term_months, self.amendment = lines, term_months, amendment
        self.crm_modified_at = crm_modified_at
        self.subscription_version = subscription_version or self.subscription_version

    def suspend(self, reason: str, correlation_id: str, version: str = "") -> None:
        self._require("suspend")
        self._suspended(reason=reason, version=version, correlation_id=correlation_id)

    @event("Suspended")
    def _suspended(self, reason: str, version: str, correlation_id: str) -> None:
        self.status = OrderStatus.SUSPENDED
        self.subscription_version = version or self.subscription_version

    def resume(self, correlation_id: str, version: str = "") -> None:
        self._require("resume")
        self._resumed(version=version, correlation_id=correlation_id)

    @event("Resumed")
    def _resumed(self, version: str, correlation_id: str) -> None:
        self.status = OrderStatus.ACTIVE
        self.subscription_version = version or self.subscription_version

    def cancel(self, effective_date: str, source: str, correlation_id: str, version: str = "") -> None:
        self._require("cancel")
        self._cancelled(effective_date=effective_date, source=source, version=version, correlation_id=correlation_id)

    @event("Cancelled")
    def _cancelled(self, effective_date: str, source: str, version: str, correlation_id: str) -> None:
        self.status = OrderStatus.CANCELLED
        self.subscription_version = version or self.subscription_version

    def apply_billing_subscription(self, subscription: BillingSubscription, correlation_id: str) -> str | None:
        """A billing-side change applied whole (DESIGN §3): returns the transition taken, if any."""
        if self.subscription and subscription.version != self.subscription_version \
                and not object_is_newer(subscription.version, self.subscription_version):
            return None  # stale
        # The version concord holds is applied again: a duplicate changes nothing (the table has no move from
        # a status to itself), while a status concord recorded wrongly at that version (an order a retry
        # activated at billing's cancelled version, before activate followed billing) is corrected.
        transition = _billing_transition(self.status, subscription.status)
        self._follow(transition, subscription, correlation_id)
        return transition

    def _follow(self, transition: str | None, subscription: BillingSubscription, correlation_id: str) -> None:
        if transition == "activate":
            self.activate(subscription, correlation_id)
        elif transition == "suspend":
            self.suspend("suspended in billing", correlation_id, subscription.version)
        elif transition == "resume":
            self.resume(correlation_id, subscription.version)
        elif transition == "cancel":
            effective = subscription.cancelled_on.isoformat() if subscription.cancelled_on else ""
            self.cancel(effective, "billing", correlation_id, subscription.version)


def _billing_transition(current: OrderStatus, billing_status: str) -> str | None:
    table = {
        (OrderStatus.SUBMITTED, "active"): "activate",
        # The create's answer was lost and billing moved on before concord heard of it: activate follows it.
        (OrderStatus.SUBMITTED, "suspended"): "activate",
        (OrderStatus.SUBMITTED, "cancelled"): "activate",
        (OrderStatus.ACTIVE, "suspended"): "suspend",
        (OrderStatus.SUSPENDED, "active"): "resume",
        (OrderStatus.ACTIVE, "cancelled"): "cancel",
        (OrderStatus.SUSPENDED, "cancelled"): "cancel",
    }
    return table.get((current, billing_status))
