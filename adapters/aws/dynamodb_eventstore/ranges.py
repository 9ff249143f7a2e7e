"""Reading range items: one item per save, keyed by its first position, holding first..hi.

Ranges of one partition never overlap (the head and counter conditions guarantee it), so the items
that hold any position of [lo, hi] are: at most one item starting before lo (the last one, if its
range reaches lo), then every item starting in [lo, hi]. Two short queries, however long the
sequence: loading an aggregate from a snapshot reads only the items after the snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .items import HI, PK, SK, RangeItem, parse_range_item
from .table import DynamoDBTable

_NAMES = {"#pk": PK, "#sk": SK}


def iter_range_items(
    table: DynamoDBTable,
    pk: str,
    lo: int | None,
    hi: int | None,
    *,
    descending: bool = False,
    page_size: int | None = None,
) -> Iterator[RangeItem]:
    """Yield, in position order, the items of partition `pk` holding any position in [lo, hi]."""
    if lo is not None and hi is not None and hi < lo:
        return
    if descending:
        yield from _descending(table, pk, lo, hi, page_size)
        return
    if lo is not None:
        before = next(_query(table, pk, "#sk < :lo", {":lo": lo}, forward=False, limit=1), None)
        if before is not None and before.last >= lo:
            yield before
    condition, values = _key_range(lo, hi)
    yield from _query(table, pk, condition, values, forward=True, limit=page_size)


def _descending(
    table: DynamoDBTable, pk: str, lo: int | None, hi: int | None, page_size: int | None
) -> Iterator[RangeItem]:
    condition, values = _key_range(None, hi)
    for item in _query(table, pk, condition, values, forward=False, limit=page_size):
        if lo is not None and item.last < lo:
            return  # every earlier item ends earlier still
        yield item


def _key_range(lo: int | None, hi: int | None) -> tuple[str | None, dict[str, int]]:
    if lo is not None and hi is not None:
        return "#sk BETWEEN :lo AND :hi", {":lo": lo, ":hi": hi}
    if lo is not None:
        return "#sk >= :lo", {":lo": lo}
    if hi is not None:
        return "#sk <= :hi", {":hi": hi}
    return None, {}


def _query(
    table: DynamoDBTable,
    pk: str,
    sk_condition: str | None,
    values: dict[str, int],
    *,
    forward: bool,
    limit: int | None,
) -> Iterator[RangeItem]:
    request: dict[str, Any] = {
        "KeyConditionExpression": "#pk = :pk" + (f" AND {sk_condition}" if sk_condition else ""),
        "ExpressionAttributeNames": _NAMES if sk_condition else {"#pk": PK},
        "ExpressionAttributeValues": {":pk": {"S": pk}, **{k: {"N": str(v)} for k, v in values.items()}},
        "ScanIndexForward": forward,
    }
    if limit is not None:
        request["Limit"] = limit  # a page size: table.query keeps paging while we keep iterating
    for item in table.query(**request):
        if HI in item:
            yield parse_range_item(item)
