"""A page the backfill listed, standing in for the whole-record reads its records' syncs would make.

The handlers read each record whole (`svc.crm.get_*`) before they apply it. In a load the page has
just read it whole already, so `PageReads` answers those reads from the page, each once: a retry of
the same record (a lost version race) reads the CRM again, as live sync would.

Accounts are ordered by positions (DESIGN §3): a page record is placed where a whole read made when
the page was read is placed (`PageClock` gives the handler that read time), so a newer change from
live sync still wins over it. Orders and products are applied whole without positions, so a page
record stands in only when it is not older than what concord holds (`order_is_current`,
`product_is_current`); otherwise the record is read again (2 calls: the record, its lines/prices).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from application.app import ConcordApp
from application.ports import ApiUsage, ChangedPage, CrmGateway, Page, SyncStatus
from domain.canonical import CrmAccount, OrderSnapshot, ProductSnapshot
from domain.order import Order
from domain.product import Product


class PageClock:
    """The moment the page was read: what a whole-record read of it is stamped with."""

    def __init__(self, read_at: datetime) -> None:
        self.read_at = read_at

    def now(self) -> datetime:
        return self.read_at


class PageReads:
    """A CrmGateway answering get_account/get_order/get_product of a page's records from the page."""

    def __init__(self, crm: CrmGateway, records: Mapping[str, Any], usable: Callable[[Any], bool]) -> None:
        self._crm = crm
        self._records = dict(records)
        self._usable = usable
        self.served = 0  # reads answered from the page
        self.read_again = 0  # reads passed on to the CRM

    def _from_page(self, crm_id: str) -> Any | None:
        record = self._records.pop(crm_id, None)  # once: a retry reads the CRM
        if record is not None and self._usable(record):
            self.served += 1
            return record
        self.read_again += 1
        return None

    def get_account(self, crm_id: str) -> CrmAccount:
        found = self._from_page(crm_id)
        return found if isinstance(found, CrmAccount) else self._crm.get_account(crm_id)

    def get_order(self, crm_id: str) -> OrderSnapshot:
        found = self._from_page(crm_id)
        return found if isinstance(found, OrderSnapshot) else self._crm.get_order(crm_id)

    def get_product(self, crm_id: str) -> ProductSnapshot:
        found = self._from_page(crm_id)
        return found if isinstance(found, ProductSnapshot) else self._crm.get_product(crm_id)

    # -- the rest of the port, unchanged ---------------------------------------------------------
    def write_status(self, entity: str, crm_id: str, status: SyncStatus, idempotency_key: str) -> None:
        self._crm.write_status(entity, crm_id, status, idempotency_key)

    def list_accounts(self, cursor: str | None, limit: int) -> Page[CrmAccount]:
        return self._crm.list_accounts(cursor, limit)

    def changed_accounts(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[CrmAccount]:
        return self._crm.changed_accounts(since, cursor, limit)

    def changed_orders(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[OrderSnapshot]:
        return self._crm.changed_orders(since, cursor, limit)

    def changed_products(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[ProductSnapshot]:
        return self._crm.changed_products(since, cursor, limit)

    def count_changed(self, entity: str, since: str | None) -> int:
        return self._crm.count_changed(entity, since)

    def api_usage(self) -> ApiUsage | None:
        return self._crm.api_usage()

    def parent_id(self, entity: str, crm_id: str) -> str:
        return self._crm.parent_id(entity, crm_id)


def _stamp(iso: str) -> datetime | None:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")) if iso else None


def _not_older(page_stamp: str, held_stamp: str) -> bool | None:
    """True: the page is newer; False: older; None: the same second (Salesforce's precision) or unknown."""
    page, held = _stamp(page_stamp), _stamp(held_stamp)
    if page is None or held is None or page == held:
        return None
    return page > held


def order_is_current(app: ConcordApp) -> Callable[[OrderSnapshot], bool]:
    def check(snapshot: OrderSnapshot) -> bool:
        order = app.get_or_none(Order, snapshot.crm_id)
        if order is None:
            return True
        newer = _not_older(snapshot.modified_at, order.crm_modified_at)
        return newer if newer is not None else not order.differs_from(snapshot)
    return check


def product_is_current(app: ConcordApp) -> Callable[[ProductSnapshot], bool]:
    def check(snapshot: ProductSnapshot) -> bool:
        product = app.get_or_none(Product, snapshot.crm_id)
        if product is None:
            return True
        newer = _not_older(snapshot.modified_at, product.crm_modified_at)
        return newer if newer is not None else _holds(product, snapshot)
    return check


def _holds(product: Product, snapshot: ProductSnapshot) -> bool:
    """concord already holds exactly this snapshot (its details and its active prices)."""
    details = {"sku": snapshot.sku, "name": snapshot.name, "description": snapshot.description,
               "active": snapshot.active,
               "effective_from": snapshot.effective_from.isoformat() if snapshot.effective_from else None,
               "effective_to": snapshot.effective_to.isoformat() if snapshot.effective_to else None}
    if product.details != details:
        return False
    active = {key for key in product.prices if product.active_price(key) is not None}
    if active != {spec.key for spec in snapshot.prices}:
        return False
    return all(Decimal(str((product.active_price(spec.key) or {})["amount"])) == spec.amount.amount
               for spec in snapshot.prices)
