"""Object Query: `filter[]` (field.OP:value), `expand[]`, cursor paging with `pageSize` <= 99.

The answer is {"data": [...], "nextPage": "<cursor>"}; `nextPage` is absent on the last page.
The cursor is opaque (base64 of an offset here). Only EQ, NE, LT, GT, LE, GE, SW and IN are understood;
IN takes a bracketed list, `id.IN:[a,b]` (developer.zuora.com, "Expand, filter, fields, and sort").
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from infrastructure.sandboxes.base import Request
from infrastructure.sandboxes.zuora.errors import INVALID, ZuoraFailure

MAX_PAGE = 99
DEFAULT_PAGE = 10
_OPS: dict[str, Callable[[str, str], bool]] = {
    "EQ": lambda a, b: a == b, "NE": lambda a, b: a != b, "LT": lambda a, b: a < b, "GT": lambda a, b: a > b,
    "LE": lambda a, b: a <= b, "GE": lambda a, b: a >= b, "SW": lambda a, b: a.startswith(b),
    "IN": lambda a, b: a in b[1:-1].split(","),
}


def _filters(request: Request) -> list[tuple[str, Callable[[str, str], bool], str]]:
    parsed = []
    for raw in request.query.get("filter[]", []):
        field, dot, rest = raw.partition(".")
        op, colon, value = rest.partition(":")
        listed = op.upper() != "IN" or (value.startswith("[") and value.endswith("]"))
        if not dot or not colon or op.upper() not in _OPS or not listed:
            raise ZuoraFailure("query", INVALID, f"invalid filter '{raw}': use field.OP:value", status=400)
        parsed.append((field.lower(), _OPS[op.upper()], value))
    return parsed


def _value(row: Mapping[str, Any], field: str) -> str:
    for key, value in row.items():
        if key.lower() == field:
            return "" if value is None else str(value)
    return ""


def page(request: Request, rows: Iterable[Mapping[str, Any]], shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """Filter, page and shape rows; raises a 400 failure for a bad filter, pageSize or cursor."""
    try:
        size = int(request.arg("pageSize") or DEFAULT_PAGE)
        start = int(base64.urlsafe_b64decode(request.arg("cursor") or "MA==").decode()) if request.arg("cursor") else 0
    except ValueError as exc:
        raise ZuoraFailure("query", INVALID, "invalid pageSize or cursor", status=400) from exc
    if not 1 <= size <= MAX_PAGE:
        raise ZuoraFailure("query", INVALID, f"'pageSize' must be between 1 and {MAX_PAGE}", status=400)
    filters = _filters(request)
    listed = rows if isinstance(rows, list) else list(rows)
    matching = [row for row in listed if all(op(_value(row, field), value) for field, op, value in filters)] \
        if filters else listed
    body: dict[str, Any] = {"data": [shape(row) for row in matching[start:start + size]]}
    if start + size < len(matching):
        body["nextPage"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return body


def by_ids(request: Request, rows: Mapping[str, Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """The rows an `id.IN`/`id.EQ` filter can match, looked up by key as Zuora's index would (a scan of
    every row per request would time the sandbox, not the client); every filter still applies after."""
    for raw in request.query.get("filter[]", []):
        field, _, rest = raw.partition(".")
        op, _, value = rest.partition(":")
        if field.lower() == "id" and op.upper() in ("IN", "EQ"):
            keys = value[1:-1].split(",") if op.upper() == "IN" else [value]
            return [rows[key] for key in dict.fromkeys(keys) if key in rows]
    return list(rows.values())


def expansions(request: Request) -> set[str]:
    return {value.lower() for value in request.query.get("expand[]", [])}
