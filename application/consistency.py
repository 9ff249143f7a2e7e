"""Reconciliation (issue 6): prove agreement instead of trusting delivery.

Every entity streams page by page, so memory is bounded by the page size, never by the record count;
a page of CRM accounts costs ONE batched billing read (BillingGateway.get_accounts). Repairs go
through the normal commands: idempotent, audited, owner-respecting (an orphan in billing is
reported, never deleted: billing owns it). A failed repair is reported with its reason, never fatal.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from application.commands import ApplyBillingTrigger, SyncAccountFromCrm, SyncOrderFromCrm, SyncProductFromCrm
from application.correlation import crm_id_for
from application.errors import IntegrationError
from application.handlers import handle
from application.ports import ChangedPage
from application.services import Services
from domain.account import Account
from domain.canonical import (
    BillingAccount,
    BillingSubscription,
    CrmAccount,
    OrderSnapshot,
    ProductSnapshot,
    quantities_by_sku,
)
from domain.correlation import Correlation
from domain.errors import DomainError
from domain.order import Order, OrderStatus
from domain.product import Product
from domain.runs import ReconciliationLog
from domain.sync import CrmChange

EXAMPLES = 5
ENTITIES = ("product", "account", "order")  # the order of `--entity all`: each needs the one before


@dataclass
class DriftReport:
    entity: str
    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=lambda: {"crm": 0, "billing": 0})
    repaired: int = 0

    def add(self, kind: str, example: dict[str, Any]) -> None:
        self.counts[kind] += 1
        bucket = self.examples.setdefault(kind, [])
        if len(bucket) < EXAMPLES:
            bucket.append(example)

    def as_dict(self) -> dict[str, Any]:
        return {"entity": self.entity, "counts": dict(self.counts), "examples": self.examples,
                "records": self.records, "repaired": self.repaired}


def _repair(command: object, crm_id: str, svc: Services, report: DriftReport) -> bool:
    """Run one repair command; a refusal is reported as `repair_failed` with its reason."""
    try:
        handle(command, svc)
    except (IntegrationError, DomainError) as exc:
        report.add("repair_failed", {"crm_id": crm_id, "reason": f"{type(exc).__name__}: {exc}"})
        return False
    report.repaired += 1
    return True


def _record_run(svc: Services, report: DriftReport, correlation_id: str) -> None:
    log = svc.app.get_or_none(ReconciliationLog, report.entity) or ReconciliationLog(entity=report.entity)
    finished = svc.clock.now() if svc.clock is not None else datetime.now(UTC)
    log.record({**report.as_dict(), "finished_at": finished.isoformat(), "correlation_id": correlation_id},
               correlation_id)
    svc.app.save(log)


def last_reconciliation(svc: Services, entity: str = "account") -> dict[str, Any] | None:
    log = svc.app.get_or_none(ReconciliationLog, entity)
    return log.last if log is not None else None


# -- accounts -------------------------------------------------------------------------------------


def _refetch(crm_id: str, correlation_id: str, *, force: bool) -> SyncAccountFromCrm:
    """A repair is the normal sync of a whole-record read, as after a CDC gap event."""
    change = CrmChange("account", (crm_id,), "gap", {}, (0, 0), 0, None, f"repair-{crm_id}", f"repair-{crm_id}",
                       needs_fetch=True)
    return SyncAccountFromCrm(change, correlation_id, attempt=2, force_push=force)


def _mismatches(crm: CrmAccount, billing: BillingAccount, held: Collection[str]) -> list[str]:
    """Every field the vendor holds (BillingGateway.account_fields) on which the two differ; a value on
    one side and none on the other is a difference (a CRM value billing never received). A field the
    vendor cannot hold is not drift."""
    return sorted(name for name in held if billing.fields.get(name) != crm.fields.get(name))


def _account_page(records: Sequence[CrmAccount], svc: Services, report: DriftReport) -> list[str]:
    """Check one CRM page against billing with ONE batched read; returns the CRM ids that drifted."""
    linked: dict[str, str] = {}
    drifted: list[str] = []
    for record in records:
        correlation = svc.app.get_or_none(Correlation, "account", record.crm_id)
        billing_id = correlation.ids.get("billing") if correlation is not None else None
        if billing_id is None:
            report.add("missing_in_billing", {"crm_id": record.crm_id})
            drifted.append(record.crm_id)
        else:
            linked[record.crm_id] = billing_id
    found = svc.billing.get_accounts({b: c for c, b in linked.items()}) if linked else {}
    held = svc.billing.account_fields
    for record in records:
        billing_id = linked.get(record.crm_id)
        if billing_id is None:
            continue
        kind = _account_drift(record, billing_id, found.get(billing_id), held, svc, report)
        if kind is not None:
            drifted.append(record.crm_id)
    return drifted


def _account_drift(record: CrmAccount, billing_id: str, billing: BillingAccount | None, held: Collection[str],
                   svc: Services, report: DriftReport) -> str | None:
    if billing is None:
        report.add("missing_in_billing", {"crm_id": record.crm_id, "billing_id": billing_id})
        return "missing_in_billing"
    differing = _mismatches(record, billing, held)
    if differing:  # confirmed by a single read: a batched read may lag (Stripe search) or predate a write
        differing = _mismatches(record, svc.billing.get_account(billing_id), held)
    if differing:
        report.add("field_mismatch", {"crm_id": record.crm_id, "billing_id": billing_id, "fields": differing})
        return "field_mismatch"
    account = svc.app.get_or_none(Account, record.crm_id)
    if account is not None and account.closed != (record.fields.get("status") == "closed"):
        report.add("status_mismatch", {"crm_id": record.crm_id, "concord_closed": account.closed})
        return "status_mismatch"
    return None


def reconcile_accounts(svc: Services, *, repair: bool, correlation_id: str, page_size: int = 200,
                       progress: Callable[[DriftReport], None] | None = None) -> DriftReport:
    report = DriftReport("account")
    cursor: str | None = None
    while True:
        page = svc.crm.list_accounts(cursor, page_size)
        report.records["crm"] += len(page.items)
        for crm_id in _account_page(page.items, svc, report):
            if repair:
                _repair(_refetch(crm_id, correlation_id, force=True), crm_id, svc, report)
        if progress is not None:
            progress(report)
        cursor = page.next_cursor
        if cursor is None:
            break
    _find_orphans(svc, report, page_size)
    _record_run(svc, report, correlation_id)
    return report


def _find_orphans(svc: Services, report: DriftReport, page_size: int) -> None:
    cursor: str | None = None
    while True:
        page = svc.billing.list_accounts(cursor, page_size)
        for billing in page.items:
            report.records["billing"] += 1
            known = crm_id_for(svc.app, "account", "billing", billing.billing_id)
            if known is None:
                report.add("orphan_in_billing", {"billing_id": billing.billing_id, "crm_id": billing.crm_id})
        cursor = page.next_cursor
        if cursor is None:
            return


# -- orders and products --------------------------------------------------------------------------
# Streamed from the CRM page by page (CrmGateway.changed_orders / changed_products from the start), so
# an order concord never heard of is found too. A CRM record that cannot be mapped is reported.


def _crm_pages(list_page: Callable[[str | None, str | None, int], ChangedPage[Any]], report: DriftReport,
               page_size: int) -> Iterator[Sequence[Any]]:
    cursor: str | None = None
    while True:
        page = list_page(None, cursor, page_size)
        for crm_id, reason in page.invalid:
            report.add("unreadable_in_crm", {"crm_id": crm_id, "reason": reason})
        yield page.items
        cursor = page.next_cursor
        if cursor is None:
            return


def _status_trigger(subscription: BillingSubscription, correlation_id: str) -> ApplyBillingTrigger:
    """Billing owns a subscription's status (DESIGN §3): concord takes it as a callout would give it."""
    return ApplyBillingTrigger("subscription", subscription.billing_id, None, "SubscriptionChanged", correlation_id)


class _OrderCheck:
    """One order: billing's subscription (status, items, quantities) against the CRM, then concord."""

    def __init__(self, svc: Services, report: DriftReport, repair: bool, correlation_id: str) -> None:
        self.svc, self.report, self.repair, self.cid = svc, report, repair, correlation_id

    def run(self, snapshot: OrderSnapshot) -> None:
        crm_id = snapshot.crm_id
        order = self.svc.app.get_or_none(Order, crm_id)
        activated = snapshot.status.lower() == "activated"
        if order is None or (activated and order.status in (OrderStatus.RECEIVED, OrderStatus.SUBMITTED)):
            if activated:
                self._found("missing_in_billing", crm_id, SyncOrderFromCrm(crm_id, self.cid))
            return
        if activated and order.status == OrderStatus.REJECTED:
            self.report.add("rejected_by_billing", {"crm_id": crm_id})  # terminal: a person reads the reason
            return
        if not order.subscription:
            return
        subscription = self.svc.billing.get_subscription(str(order.subscription["id"]))
        if subscription.status != order.status.value:
            example = {"concord": order.status.value, "billing": subscription.status}
            if self._found("status_mismatch", crm_id, _status_trigger(subscription, self.cid), example):
                order = self.svc.app.get_or_none(Order, crm_id) or order
                if order.status.value != subscription.status:  # the trigger found nothing newer to apply
                    self.report.add("unrepaired", {"crm_id": crm_id, **example,
                                                   "reason": "billing's version is not newer than concord's"})
        self._subscription_against_crm(order, snapshot, subscription)  # a CRM change may wait behind it

    def _subscription_against_crm(self, order: Order, snapshot: OrderSnapshot,
                                  subscription: BillingSubscription) -> None:
        crm_id, status = order.crm_id, snapshot.status.lower()
        account = self.svc.app.get_or_none(Account, snapshot.account_crm_id)
        if account is not None and account.billing_id not in (None, subscription.account_billing_id):
            # Moving a subscription between accounts is billing's (and a person's) decision: reported only.
            self.report.add("wrong_account", {"crm_id": crm_id, "crm_account": snapshot.account_crm_id,
                                              "billing_account": subscription.account_billing_id})
        if status == "cancelled" and subscription.status in ("active", "suspended"):
            self._found("status_mismatch", crm_id, SyncOrderFromCrm(crm_id, self.cid),
                        {"crm": "cancelled", "billing": subscription.status})
            return
        if subscription.status == "cancelled":
            return  # billing ended it: nothing left to amend
        wanted, billed = quantities_by_sku(snapshot.lines), quantities_by_sku(subscription.items)
        if wanted != billed:
            example = {"crm": wanted, "billing": billed}
            if subscription.status != "active":  # billing amends active subscriptions only
                self.report.add("waiting_while_suspended", {"crm_id": crm_id, **example})
            else:
                self._found("quantity_mismatch", crm_id, SyncOrderFromCrm(crm_id, self.cid, amend_billing=True),
                            example)
                if self.repair:
                    self._check_repaired(crm_id, subscription.billing_id, wanted)
        elif order.status == OrderStatus.ACTIVE and order.differs_from(snapshot):
            self._found("field_mismatch", crm_id, SyncOrderFromCrm(crm_id, self.cid))

    def _check_repaired(self, crm_id: str, billing_id: str, wanted: dict[str, int]) -> None:
        """The repair amends billing back to the CRM's lines even when concord already holds them (a clerk's
        edit, a killed worker's late write); what billing still shows after it is reported unrepaired."""
        after = quantities_by_sku(self.svc.billing.get_subscription(billing_id).items)
        if after != wanted:
            self.report.add("unrepaired", {"crm_id": crm_id, "billing": after, "crm": wanted,
                                           "reason": "concord's order already holds the CRM's lines"})

    def _found(self, kind: str, crm_id: str, command: object, example: dict[str, Any] | None = None) -> bool:
        self.report.add(kind, {"crm_id": crm_id, **(example or {})})
        return self.repair and _repair(command, crm_id, self.svc, self.report)


def reconcile_orders(svc: Services, *, repair: bool, correlation_id: str, page_size: int = 200,
                     progress: Callable[[DriftReport], None] | None = None) -> DriftReport:
    report = DriftReport("order")
    check = _OrderCheck(svc, report, repair, correlation_id)
    for page in _crm_pages(svc.crm.changed_orders, report, page_size):
        for snapshot in page:
            report.records["crm"] += 1
            try:
                check.run(snapshot)
            except (IntegrationError, DomainError) as exc:  # one record's failure is reported, never fatal
                report.add("check_failed", {"crm_id": snapshot.crm_id, "reason": f"{type(exc).__name__}: {exc}"})
        if progress is not None:
            progress(report)
    _record_run(svc, report, correlation_id)
    return report


def _product_drift(snapshot: ProductSnapshot, svc: Services) -> str | None:
    """A product the normal sync would still change (tried on a copy of concord's, never saved)."""
    product = svc.app.get_or_none(Product, snapshot.crm_id)
    if product is None:
        return "missing_in_billing"
    product.update_details(snapshot, "")
    product.reprice(snapshot.prices, "")
    changed = product.pending_events or product.unlinked_prices() or product.retired_linked_prices()
    return "field_mismatch" if changed else None


def reconcile_products(svc: Services, *, repair: bool, correlation_id: str, page_size: int = 200,
                       progress: Callable[[DriftReport], None] | None = None) -> DriftReport:
    report = DriftReport("product")
    for page in _crm_pages(svc.crm.changed_products, report, page_size):
        for snapshot in page:
            report.records["crm"] += 1
            try:
                kind = _product_drift(snapshot, svc)
                if kind is not None:
                    report.add(kind, {"crm_id": snapshot.crm_id})
                    if repair:
                        _repair(SyncProductFromCrm(snapshot.crm_id, correlation_id), snapshot.crm_id, svc, report)
            except (IntegrationError, DomainError) as exc:
                report.add("check_failed", {"crm_id": snapshot.crm_id, "reason": f"{type(exc).__name__}: {exc}"})
        if progress is not None:
            progress(report)
    _record_run(svc, report, correlation_id)
    return report


RECONCILERS: dict[str, Callable[..., DriftReport]] = {
    "product": reconcile_products,
    "account": reconcile_accounts,
    "order": reconcile_orders,
}


def reconcile(svc: Services, entity: str, *, repair: bool, correlation_id: str, page_size: int = 200,
              progress: Callable[[DriftReport], None] | None = None) -> list[DriftReport]:
    """One entity, or "all" of them in ENTITIES order; each run is recorded (last_reconciliation)."""
    if entity != "all" and entity not in RECONCILERS:
        raise ValueError(f"unknown entity {entity!r}: one of {', '.join(ENTITIES)}, or all")
    return [RECONCILERS[name](svc, repair=repair, correlation_id=correlation_id, page_size=page_size,
                              progress=progress)
            for name in (ENTITIES if entity == "all" else (entity,))]
