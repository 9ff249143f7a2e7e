"""An in-memory CRM that keeps the promises of the CrmGateway contract."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from application.errors import IntegrationError, NotFound, PermanentError, RetryableError
from application.ports import ApiUsage, ChangedPage, Page, SyncStatus
from domain.canonical import CrmAccount, OrderSnapshot, ProductSnapshot

Listed = TypeVar("Listed", CrmAccount, OrderSnapshot, ProductSnapshot)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class MemoryCrm:
    def __init__(self) -> None:
        self.accounts: dict[str, CrmAccount] = {}
        self.orders: dict[str, OrderSnapshot] = {}
        self.products: dict[str, ProductSnapshot] = {}
        self.statuses: dict[tuple[str, str], SyncStatus] = {}
        self.status_keys: set[str] = set()
        self.parents: dict[tuple[str, str], str] = {}  # (order_line|price, id) -> order|product crm id
        self.calls: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._time = datetime(2026, 1, 1, tzinfo=UTC)
        self._failures: list[IntegrationError] = []
        self.daily_limit: int | None = None  # set to report (and enforce) a Salesforce-like API quota

    def fail_next(self, error: IntegrationError) -> None:
        self._failures.append(error)

    def _check(self, method: str) -> None:
        if self.daily_limit is not None and self.calls.total() >= self.daily_limit:
            raise RetryableError("TotalRequests Limit exceeded.", system="crm", code="REQUEST_LIMIT_EXCEEDED")
        self.calls[method] += 1
        if self._failures:
            raise self._failures.pop(0)

    def _tick(self) -> str:
        self._time += timedelta(seconds=1)
        return self._time.isoformat().replace("+00:00", "Z")

    # -- what a CRM user does ----------------------------------------------------------------
    def put_account(self, fields: Mapping[str, Any], crm_id: str | None = None) -> CrmAccount:
        crm_id = crm_id or f"001{next(self._ids):015d}"
        current = self.accounts.get(crm_id)
        merged = {**(current.fields if current else {}), **fields}
        self.accounts[crm_id] = CrmAccount(crm_id, merged, self._tick())
        return self.accounts[crm_id]

    def put_order(self, order: OrderSnapshot) -> OrderSnapshot:
        self.orders[order.crm_id] = replace(order, modified_at=self._tick())
        return self.orders[order.crm_id]

    def put_product(self, product: ProductSnapshot) -> ProductSnapshot:
        self.products[product.crm_id] = replace(product, modified_at=self._tick())
        return self.products[product.crm_id]

    # -- the port ----------------------------------------------------------------------------
    def get_account(self, crm_id: str) -> CrmAccount:
        self._check("get_account")
        if crm_id not in self.accounts:
            raise NotFound(f"no CRM account {crm_id}", system="crm", code="NOT_FOUND")
        return self.accounts[crm_id]

    def get_order(self, crm_id: str) -> OrderSnapshot:
        self._check("get_order")
        if crm_id not in self.orders:
            raise NotFound(f"no CRM order {crm_id}", system="crm", code="NOT_FOUND")
        return self.orders[crm_id]

    def get_product(self, crm_id: str) -> ProductSnapshot:
        self._check("get_product")
        if crm_id not in self.products:
            raise NotFound(f"no CRM product {crm_id}", system="crm", code="NOT_FOUND")
        return self.products[crm_id]

    def write_status(self, entity: str, crm_id: str, status: SyncStatus, idempotency_key: str) -> None:
        self._check("write_status")
        known: dict[str, Mapping[str, Any]] = {"account": self.accounts, "order": self.orders,
                                                "product": self.products}
        if crm_id not in known.get(entity, {}):
            raise NotFound(f"no CRM {entity} {crm_id}", system="crm", code="NOT_FOUND")
        self.statuses[(entity, crm_id)] = status
        self.status_keys.add(idempotency_key)

    def parent_id(self, entity: str, crm_id: str) -> str:
        self._check("parent_id")
        parent = self.parents.get((entity, crm_id))
        if parent is None:
            raise NotFound(f"no CRM {entity} {crm_id}", system="crm", code="NOT_FOUND")
        return parent

    def list_accounts(self, cursor: str | None, limit: int) -> Page[CrmAccount]:
        self._check("list_accounts")
        ordered = sorted(self.accounts.values(), key=lambda a: (a.modified_at, a.crm_id))
        keys = [f"{a.modified_at}|{a.crm_id}" for a in ordered]
        start = keys.index(cursor) + 1 if cursor in keys else 0
        chunk = ordered[start:start + limit]
        more = start + limit < len(ordered)
        return Page(chunk, keys[start + len(chunk) - 1] if more and chunk else None)

    def changed_accounts(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[CrmAccount]:
        self._check("changed_accounts")
        return self._changed(list(self.accounts.values()), since, cursor, limit)

    def changed_orders(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[OrderSnapshot]:
        self._check("changed_orders")
        return self._changed(list(self.orders.values()), since, cursor, limit)

    def changed_products(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[ProductSnapshot]:
        self._check("changed_products")
        return self._changed(list(self.products.values()), since, cursor, limit)

    def count_changed(self, entity: str, since: str | None) -> int:
        self._check("count_changed")
        stamps = {"account": [a.modified_at for a in self.accounts.values()],
                  "order": [o.modified_at for o in self.orders.values()],
                  "product": [p.modified_at for p in self.products.values()]}
        if entity not in stamps:
            raise PermanentError(f"no CRM listing of {entity}", system="crm", code="INVALID_ENTITY", field="entity")
        floor = _moment(since) if since else None
        return sum(1 for stamp in stamps[entity] if floor is None or _moment(stamp) >= floor)

    def api_usage(self) -> ApiUsage | None:
        return ApiUsage(self.calls.total(), self.daily_limit) if self.daily_limit is not None else None

    @staticmethod
    def _changed(records: list[Listed], since: str | None, cursor: str | None, limit: int) -> ChangedPage[Listed]:
        """The same inclusive watermark as Salesforce's: start AT the cursor's record, drop it again."""
        floor = _moment(since) if since else None
        mark = (_moment(cursor.partition("|")[0]), cursor.partition("|")[2]) if cursor else None
        ordered = sorted(((_moment(r.modified_at), r.crm_id, r) for r in records
                          if floor is None or _moment(r.modified_at) >= floor), key=lambda row: row[:2])
        rows = [row for row in ordered if mark is None or row[:2] >= mark][:limit + 2]
        kept = [row for row in rows if row[:2] != mark]
        items = kept[:limit]
        more = len(kept) > limit
        return ChangedPage([row[2] for row in items], f"{items[-1][2].modified_at}|{items[-1][1]}" if more else None)
