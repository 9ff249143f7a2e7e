"""SOQL tokens and literals (the parser is soql.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from infrastructure.sandboxes.salesforce.schema import SfError

_TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<dt>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2}))
    |(?P<date>\d{4}-\d{2}-\d{2})|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|[=<>(),])|(?P<word>[A-Za-z_][\w.]*))""",
                    re.VERBOSE)
KEYWORDS = {"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "ORDER", "BY", "ASC", "DESC", "LIMIT",
             "NULLS", "FIRST", "LAST", "LIKE", "TRUE", "FALSE", "NULL", "OFFSET"}


@dataclass
class Query:
    obj: str
    fields: list[str]
    where: Any = None  # a nested tuple tree: ("and"|"or", l, r) | ("not", x) | ("cmp", path, op, value)
    order: list[tuple[str, bool, bool]] = field(default_factory=list)  # (path, descending, nulls_last)
    limit: int | None = None
    count: bool = False  # SELECT COUNT(): the answer is totalSize alone, no records


def malformed(message: str) -> SfError:
    return SfError("MALFORMED_QUERY", message)


def tokenize(text: str) -> list[tuple[str, Any]]:
    tokens: list[tuple[str, Any]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise malformed(f"unexpected token: '{text[position:position + 20]}'")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def literal(kind: str, value: Any) -> Any:
    if kind == "str":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    if kind == "num":
        return Decimal(value)
    if kind == "dt":
        return parse_datetime(value)
    if kind == "date":
        return date.fromisoformat(value)
    upper = str(value).upper()
    if upper in ("TRUE", "FALSE", "NULL"):
        return {"TRUE": True, "FALSE": False, "NULL": None}[upper]
    raise malformed(f"unexpected token: '{value}'")


def parse_datetime(text: str) -> datetime:
    normal = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normal):
        normal = normal[:-2] + ":" + normal[-2:]
    moment = datetime.fromisoformat(normal)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
