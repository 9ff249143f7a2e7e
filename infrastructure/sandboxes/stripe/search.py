"""Stripe's search query language, the part concord and tests use (docs.stripe.com/search).

Clauses `field:'value'` (exact match, case insensitive), `field~'value'` (substring, 3+ characters),
`metadata['key']:'value'`, numeric `created>1700000000` (>, <, >=, <=, :), `-` to negate; joined by
AND or by OR (not both in one query, at most 10 clauses). Values are quoted; a quote or backslash inside
is escaped with a backslash.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infrastructure.sandboxes.stripe.errors import InvalidParams

_CLAUSE = re.compile(
    r"""(?P<neg>-)?(?P<field>metadata\[(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]|[a-z_]+)"""
    r"""(?P<op>>=|<=|:|~|>|<)(?P<value>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[0-9]+)""")
_JOIN = re.compile(r"\s+(AND|OR)\s+")
MAX_CLAUSES = 10


@dataclass(frozen=True)
class Clause:
    negate: bool
    field: str  # "metadata.<key>" for metadata
    op: str
    value: str


def parse(query: str, fields: Iterable[str]) -> tuple[str, list[Clause]]:
    parts = _JOIN.split(query.strip())
    clauses_text, joins = parts[::2], set(parts[1::2])
    if len(joins) > 1:
        raise _bad("AND and OR cannot be combined in one query")
    if len(clauses_text) > MAX_CLAUSES:
        raise _bad(f"a query takes at most {MAX_CLAUSES} clauses")
    allowed = set(fields)
    clauses = [_clause(text, allowed) for text in clauses_text]
    return (joins.pop() if joins else "AND"), clauses


def matches(obj: Mapping[str, Any], join: str, clauses: list[Clause]) -> bool:
    results = (_match(obj, clause) != clause.negate for clause in clauses)
    return all(results) if join == "AND" else any(results)


def _clause(text: str, allowed: set[str]) -> Clause:
    match = _CLAUSE.fullmatch(text.strip())
    if match is None:
        raise _bad(f"could not parse {text!r}")
    field = match["field"]
    if field.startswith("metadata["):
        field = "metadata." + _unquote(field[len("metadata["):-1])
    elif field not in allowed:
        raise _bad(f"Field '{field}' is not supported for search on this resource")
    return Clause(bool(match["neg"]), field, match["op"], _unquote(match["value"]))


def _match(obj: Mapping[str, Any], clause: Clause) -> bool:
    if clause.field.startswith("metadata."):
        actual: Any = (obj.get("metadata") or {}).get(clause.field[len("metadata."):])
    else:
        actual = obj.get(clause.field)
    if actual is None:
        return False
    if isinstance(actual, bool):
        actual = "true" if actual else "false"
    if isinstance(actual, int):
        return _compare(actual, clause)
    if clause.op == "~":
        return len(clause.value) >= 3 and clause.value.lower() in str(actual).lower()
    return clause.op == ":" and str(actual).lower() == clause.value.lower()


def _compare(actual: int, clause: Clause) -> bool:
    try:
        wanted = int(clause.value)
    except ValueError:
        return False
    return {":": actual == wanted, ">": actual > wanted, "<": actual < wanted, ">=": actual >= wanted,
            "<=": actual <= wanted}.get(clause.op, False)


def _unquote(value: str) -> str:
    if value[:1] in ("'", '"'):
        value = value[1:-1]
    return re.sub(r"\\(.)", r"\1", value)


def _bad(reason: str) -> InvalidParams:
    return InvalidParams(f"Invalid search query: {reason}.", param="query")
