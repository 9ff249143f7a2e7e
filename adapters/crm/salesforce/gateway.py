"""SalesforceCrm: application.ports.CrmGateway over Salesforce REST (httpx), plus the write paths
loads and seeding use: upsert by the external id Concord_Id__c, and sObject Collections in batches.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote as url_quote

from adapters.crm.salesforce import mapping
from adapters.crm.salesforce.client import SalesforceHttp, parse_json
from adapters.crm.salesforce.mapping.fields import (
    ACCOUNT_QUERY_FIELDS,
    ORDER_ITEM_QUERY_FIELDS,
    ORDER_QUERY_FIELDS,
    PRICE_QUERY_FIELDS,
    PRODUCT_QUERY_FIELDS,
)
from adapters.crm.salesforce.results import RecordResult, record_results
from adapters.crm.salesforce.soql import checked_id, datetime_literal, quote, select
from application.errors import PermanentError
from application.ports import ApiUsage, ChangedPage, Page, SyncStatus
from domain.canonical import CrmAccount, OrderSnapshot, ProductSnapshot
from domain.errors import ValidationError

COLLECTION_MAX = 200
LISTED = {"account": "Account", "order": "Order", "product": "Product2"}
Item = TypeVar("Item")


@contextmanager
def _as_permanent() -> Iterator[None]:
    """A record concord cannot map is a permanent failure naming the field (never KeyError/TypeError)."""
    try:
        yield
    except ValidationError as exc:
        raise PermanentError(f"salesforce data: {exc}", system="salesforce", code="INVALID_DATA",
                             field=exc.field) from exc


class SalesforceCrm:
    def __init__(self, http: SalesforceHttp, *, pricebook_id: str | None = None) -> None:
        self.http = http
        self.pricebook_id = pricebook_id  # read prices from this price book only (None: every active entry)

    # -- reads -------------------------------------------------------------------------------
    def _record(self, sobject: str, crm_id: str, fields: Sequence[str]) -> dict[str, Any]:
        path = self.http.data(f"sobjects/{sobject}/{checked_id(crm_id)}")
        body = self.http.call("GET", path, params={"fields": ",".join(f for f in fields if "." not in f)})
        if not isinstance(body, dict):
            raise PermanentError(f"salesforce: {sobject} {crm_id} answer is not a record", system="salesforce",
                                 code="BAD_RECORD")
        return body

    def query(self, soql: str, limit: int | None = None) -> list[dict[str, Any]]:
        """All records of a query (following nextRecordsUrl), or the first `limit`."""
        body = self.http.call("GET", self.http.data("query"), params={"q": soql})
        records: list[dict[str, Any]] = []
        while isinstance(body, dict):
            records.extend(r for r in body.get("records") or [] if isinstance(r, dict))
            next_url = body.get("nextRecordsUrl")
            if body.get("done", True) or not next_url or (limit is not None and len(records) >= limit):
                break
            body = self.http.call("GET", str(next_url))
        return records[:limit] if limit is not None else records

    def get_account(self, crm_id: str) -> CrmAccount:
        record = self._record("Account", crm_id, ACCOUNT_QUERY_FIELDS)
        with _as_permanent():
            return mapping.account_from_sf(record)

    def get_order(self, crm_id: str) -> OrderSnapshot:
        record = self._record("Order", crm_id, ORDER_QUERY_FIELDS)
        items = self.query(select(ORDER_ITEM_QUERY_FIELDS, "OrderItem", f"OrderId = {quote(crm_id)}", "Id"))
        with _as_permanent():
            return mapping.order_from_sf(record, items)

    def get_product(self, crm_id: str) -> ProductSnapshot:
        record = self._record("Product2", crm_id, PRODUCT_QUERY_FIELDS)
        where = f"Product2Id = {quote(crm_id)} AND {self._price_filter()}"
        entries = self.query(select(PRICE_QUERY_FIELDS, "PricebookEntry", where, "Id"))
        with _as_permanent():
            return mapping.product_from_sf(record, entries)

    def list_accounts(self, cursor: str | None, limit: int) -> Page[CrmAccount]:
        """Accounts in (LastModifiedDate, Id) order. The cursor is a keyset (the last row's date and
        id), not a query locator: locators expire after 15 minutes idle, a keyset never does."""
        where = ""
        if cursor:
            moment, last_id = _decode_cursor(cursor)
            where = f"LastModifiedDate > {moment} OR (LastModifiedDate = {moment} AND Id > {quote(last_id)})"
        soql = select(ACCOUNT_QUERY_FIELDS, "Account", where, "LastModifiedDate, Id", limit)
        records = self.query(soql, limit)
        with _as_permanent():
            accounts = [mapping.account_from_sf(r) for r in records]
        next_cursor = _encode_cursor(records[-1]) if records and len(records) >= limit else None
        return Page(accounts, next_cursor)

    # -- loads: an inclusive (LastModifiedDate, Id) watermark --------------------------------------
    def changed_accounts(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[CrmAccount]:
        rows, next_cursor = self._changed_rows("Account", ACCOUNT_QUERY_FIELDS, since, cursor, limit)
        return _mapped(rows, next_cursor, mapping.account_from_sf)

    def changed_orders(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[OrderSnapshot]:
        """Two queries a page: the orders, then the lines of all of them (OrderId IN ...), not one per order."""
        rows, next_cursor = self._changed_rows("Order", ORDER_QUERY_FIELDS, since, cursor, limit)
        lines = self._children("OrderItem", ("OrderId", *ORDER_ITEM_QUERY_FIELDS), "OrderId", rows)
        return _mapped(rows, next_cursor, lambda r: mapping.order_from_sf(r, lines.get(r["Id"], [])))

    def changed_products(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[ProductSnapshot]:
        rows, next_cursor = self._changed_rows("Product2", PRODUCT_QUERY_FIELDS, since, cursor, limit)
        prices = self._children("PricebookEntry", ("Product2Id", *PRICE_QUERY_FIELDS), "Product2Id", rows,
                                extra=self._price_filter())
        return _mapped(rows, next_cursor, lambda r: mapping.product_from_sf(r, prices.get(r["Id"], [])))

    def count_changed(self, entity: str, since: str | None) -> int:
        """`SELECT COUNT() FROM ...`: Salesforce answers totalSize and no records (one API call)."""
        if entity not in LISTED:
            raise PermanentError(f"salesforce: no listing of {entity}", system="salesforce", code="INVALID_ENTITY",
                                 field="entity")
        body = self.http.call("GET", self.http.data("query"),
                              params={"q": select(["COUNT()"], LISTED[entity], _since_clause(since))})
        total = body.get("totalSize") if isinstance(body, dict) else None
        if not isinstance(total, int):
            raise PermanentError("salesforce: a COUNT() query answered no totalSize", system="salesforce",
                                 code="BAD_RESULTS")
        return total

    def api_usage(self) -> ApiUsage | None:
        usage = self.http.api_usage
        return ApiUsage(*usage) if usage is not None else None

    def _changed_rows(self, sobject: str, fields: Sequence[str], since: str | None, cursor: str | None,
                      limit: int) -> tuple[list[dict[str, Any]], str | None]:
        """Rows at or after the watermark, the watermark's own row dropped. LIMIT n+2: with the boundary
        row dropped, one more row still tells whether another page follows."""
        where = [clause for clause in (_since_clause(since), _watermark_clause(cursor)) if clause]
        soql = select(fields, sobject, " AND ".join(f"({c})" for c in where), "LastModifiedDate, Id", limit + 2)
        boundary = _decode_cursor(cursor) if cursor else None
        rows = [r for r in self.query(soql, limit + 2) if boundary is None or _raw_key(r) != boundary]
        page = rows[:limit]
        return page, (_encode_cursor(page[-1]) if len(rows) > limit else None)

    def _children(self, sobject: str, fields: Sequence[str], parent_field: str, parents: Sequence[Mapping[str, Any]],
                  extra: str = "") -> dict[str, list[dict[str, Any]]]:
        """The child rows of a page of parents, grouped by parent, in one query (queryMore past 2,000)."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        ids = [checked_id(str(p.get("Id"))) for p in parents]
        if not ids:
            return grouped
        where = f"{parent_field} IN ({', '.join(quote(i) for i in ids)})" + (f" AND {extra}" if extra else "")
        for row in self.query(select(fields, sobject, where, f"{parent_field}, Id")):
            grouped.setdefault(str(row.get(parent_field)), []).append(row)
        return grouped

    def _price_filter(self) -> str:
        where = "IsActive = true"
        if self.pricebook_id:
            where += f" AND Pricebook2Id = {quote(checked_id(self.pricebook_id, 'pricebook_id'))}"
        return where

    _PARENTS = {"order_line": ("OrderItem", "OrderId"), "price": ("PricebookEntry", "Product2Id")}

    def parent_id(self, entity: str, crm_id: str) -> str:
        """The order of an order line, the product of a price entry: update events omit the parent."""
        if entity not in self._PARENTS:
            raise PermanentError(f"salesforce: {entity} records have no parent concord follows", system="salesforce",
                                 code="NO_PARENT", field="entity")
        sobject, field = self._PARENTS[entity]
        parent = self._record(sobject, crm_id, (field,)).get(field)
        if not isinstance(parent, str) or not parent:
            raise PermanentError(f"salesforce: {sobject} {crm_id} has no {field}", system="salesforce",
                                 code="NO_PARENT", field=field)
        return parent

    # -- writes ------------------------------------------------------------------------------
    def write_status(self, entity: str, crm_id: str, status: SyncStatus, idempotency_key: str) -> None:
        """PATCH the sync fields. Setting the same values twice is harmless: Salesforce has no idempotency
        header, and this write needs none, so the key is not sent."""
        with _as_permanent():
            body = mapping.status_to_sf(entity, status)
            sobject = mapping.sobject_for(entity)
        self.http.request("PATCH", self.http.data(f"sobjects/{sobject}/{checked_id(crm_id)}"), json=body)

    def upsert(self, sobject: str, external_id: str, fields: Mapping[str, Any]) -> tuple[str, bool]:
        """Create or update by Concord_Id__c: (record id, created). 201 created; 200 or 204 updated."""
        if not external_id or "/" in external_id:
            raise PermanentError("salesforce: the external id must be non-empty, without '/'", system="salesforce",
                                 code="INVALID_EXTERNAL_ID", field=mapping.EXTERNAL_ID_FIELD)
        path = self.http.data(f"sobjects/{sobject}/{mapping.EXTERNAL_ID_FIELD}/{url_quote(external_id, safe='')}")
        response = self.http.request("PATCH", path, json=dict(fields))
        body = parse_json(response) if response.status_code != 204 else None
        record_id = body.get("id") if isinstance(body, dict) else None
        if record_id is None:  # 204 (API < 46) names no id: read it by the external id
            found = self.http.call("GET", path, params={"fields": "Id"})
            record_id = found.get("Id") if isinstance(found, dict) else None
        return str(record_id), response.status_code == 201

    def upsert_account(self, external_id: str, fields: Mapping[str, Any]) -> tuple[str, bool]:
        with _as_permanent():
            body = mapping.account_to_sf(fields)
        return self.upsert("Account", external_id, body)

    def upsert_many(self, sobject: str, records: Sequence[Mapping[str, Any]], *,
                    all_or_none: bool = False) -> list[RecordResult]:
        """sObject Collections upsert on Concord_Id__c, 200 records a call; one result per record, in order."""
        results: list[RecordResult] = []
        for start in range(0, len(records), COLLECTION_MAX):
            chunk = [{"attributes": {"type": sobject}, **r} for r in records[start:start + COLLECTION_MAX]]
            body = self.http.call("PATCH", self.http.data(f"composite/sobjects/{sobject}/{mapping.EXTERNAL_ID_FIELD}"),
                                  json={"allOrNone": all_or_none, "records": chunk})
            results.extend(record_results(body, len(chunk)))
        return results


def _encode_cursor(record: Mapping[str, Any]) -> str:
    raw = f"{record.get('LastModifiedDate')}|{record.get('Id')}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        stamp, _, last_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("+0000", "+00:00"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PermanentError(f"salesforce: {cursor!r} is not a cursor of list_accounts", system="salesforce",
                             code="INVALID_CURSOR", field="cursor") from exc
    return datetime_literal(moment), checked_id(last_id, "cursor")


def _raw_key(record: Mapping[str, Any]) -> tuple[str, str]:
    stamp = str(record.get("LastModifiedDate") or "")
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace("+0000", "+00:00")) if stamp else None
    return (datetime_literal(moment) if moment else "", str(record.get("Id") or ""))


def _watermark_clause(cursor: str | None) -> str:
    """Inclusive: the cursor's own record comes back (and is dropped by the caller)."""
    if not cursor:
        return ""
    moment, last_id = _decode_cursor(cursor)
    return f"LastModifiedDate > {moment} OR (LastModifiedDate = {moment} AND Id >= {quote(last_id)})"


def _since_clause(since: str | None) -> str:
    if not since:
        return ""
    try:
        moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"salesforce: since {since!r} is not an ISO 8601 date/time", system="salesforce",
                             code="INVALID_SINCE", field="since") from exc
    return f"LastModifiedDate >= {datetime_literal(moment)}"


def _mapped(rows: Sequence[Mapping[str, Any]], next_cursor: str | None,
            build: Callable[[Mapping[str, Any]], Item]) -> ChangedPage[Item]:
    """Each row mapped; a row concord cannot map is named in `invalid`, never fails the page."""
    items: list[Item] = []
    invalid: list[tuple[str, str]] = []
    for row in rows:
        try:
            items.append(build(row))
        except ValidationError as exc:
            invalid.append((str(row.get("Id")), str(exc)))
    return ChangedPage(items, next_cursor, tuple(invalid))
