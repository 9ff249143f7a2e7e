"""Runs a parsed SOQL query over the org's records: filter, order, limit, project with relationships."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from infrastructure.sandboxes.salesforce.schema import SfError
from infrastructure.sandboxes.salesforce.soql import Query, parse_datetime

Record = dict[str, Any]
Resolve = Callable[[Record, str], Any]  # (record, "Field" or "Rel.Field") -> value


def _coerce(value: Any, literal: Any) -> Any:
    """The record's value in the literal's type, so dates compare as dates and text without case."""
    if value is None or literal is None:
        return value
    if isinstance(literal, datetime):
        return parse_datetime(value) if isinstance(value, str) else value
    if isinstance(literal, date):
        return date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(literal, Decimal) and not isinstance(value, bool):
        return Decimal(str(value))
    if isinstance(literal, str) and isinstance(value, str):
        return value.casefold()
    return value


def _compare(value: Any, operator: str, literal: Any) -> bool:
    if operator == "IN":
        return any(_compare(value, "=", item) for item in literal)
    if isinstance(literal, str):
        literal = literal.casefold()
    value = _coerce(value, literal)
    if operator == "=":
        return bool(value == literal)
    if operator == "!=":
        return bool(value != literal)
    if value is None or literal is None:
        return False  # null never orders against a value in SOQL
    if operator == "LIKE":
        return fnmatch.fnmatchcase(str(value), str(literal).replace("%", "*").replace("_", "?"))
    try:
        return bool({"<": value < literal, "<=": value <= literal, ">": value > literal,
                     ">=": value >= literal}[operator])
    except TypeError as exc:
        raise SfError("INVALID_QUERY_FILTER_OPERATOR", f"value of filter criterion is not of type "
                      f"{type(value).__name__}") from exc


def matches(record: Record, node: Any, resolve: Resolve) -> bool:
    if node is None:
        return True
    kind = node[0]
    if kind == "and":
        return matches(record, node[1], resolve) and matches(record, node[2], resolve)
    if kind == "or":
        return matches(record, node[1], resolve) or matches(record, node[2], resolve)
    if kind == "not":
        return not matches(record, node[1], resolve)
    _, path, operator, literal = node
    return _compare(resolve(record, path), operator, literal)


def _sort_value(value: Any) -> Any:
    if isinstance(value, str):
        return value.casefold()
    return value


def order(records: list[Record], query: Query, resolve: Resolve) -> list[Record]:
    def compare(left: Record, right: Record) -> int:
        for path, descending, nulls_last in query.order:
            a, b = _sort_value(resolve(left, path)), _sort_value(resolve(right, path))
            if a == b:
                continue
            if a is None or b is None:
                return (1 if a is None else -1) * (1 if nulls_last else -1)
            result = -1 if a < b else 1
            return -result if descending else result
        return 0

    return sorted(records, key=cmp_to_key(compare)) if query.order else records


def paths_used(query: Query) -> list[str]:
    """Every field path the query names (select, where, order), to check they exist."""
    found = list(query.fields) + [path for path, _, _ in query.order]

    def walk(node: Any) -> None:
        if node is None:
            return
        if node[0] in ("and", "or"):
            walk(node[1])
            walk(node[2])
        elif node[0] == "not":
            walk(node[1])
        else:
            found.append(node[1])

    walk(query.where)
    return found
