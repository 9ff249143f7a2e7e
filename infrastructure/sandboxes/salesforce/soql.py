"""A small SOQL: `SELECT a, b, Rel.c | COUNT() FROM Obj [WHERE ...] [ORDER BY a [DESC] [NULLS LAST], b] [LIMIT n]`.

WHERE takes =, !=, <>, <, <=, >, >=, LIKE, IN, NOT IN, AND, OR, NOT and parentheses over string,
number, boolean, null, date and datetime literals, which is what concord's adapter and setup-relay
send. String comparisons are case-insensitive, as in SOQL. Anything else is MALFORMED_QUERY.
"""

from __future__ import annotations

from typing import Any

from infrastructure.sandboxes.salesforce.soql_lexer import KEYWORDS, Query, literal, malformed, parse_datetime, tokenize

__all__ = ["Query", "malformed", "parse", "parse_datetime"]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> str:
        if self.index >= len(self.tokens):
            return ""
        kind, value = self.tokens[self.index]
        return str(value).upper() if kind == "word" and str(value).upper() in KEYWORDS else str(value)

    def take(self, expected: str | None = None) -> tuple[str, Any]:
        if self.index >= len(self.tokens):
            raise malformed(f"unexpected end of query, expecting {expected or 'more'}")
        token = self.tokens[self.index]
        if expected is not None and self.peek() != expected:
            raise malformed(f"expecting '{expected}', found '{token[1]}'")
        self.index += 1
        return token

    def ident(self) -> str:
        kind, value = self.take()
        if kind != "word" or value.upper() in KEYWORDS:
            raise malformed(f"unexpected token: '{value}'")
        return str(value)

    def parse(self) -> Query:
        self.take("SELECT")
        fields = [self.ident()]
        counting = fields[0].upper() == "COUNT" and self.peek() == "("
        if counting:
            self.take("(")
            self.take(")")
            fields = []
        while not counting and self.peek() == ",":
            self.take(",")
            fields.append(self.ident())
        self.take("FROM")
        query = Query(self.object_name(), fields, count=counting)
        if self.peek() == "WHERE":
            self.take()
            query.where = self.expr()
        if self.peek() == "ORDER":
            self.take()
            self.take("BY")
            query.order = self.order_list()
        if self.peek() == "LIMIT":
            self.take()
            kind, value = self.take()
            if kind != "num":
                raise malformed(f"LIMIT expects a number, found '{value}'")
            query.limit = int(value)
        if self.index != len(self.tokens):
            raise malformed(f"unexpected token: '{self.tokens[self.index][1]}'")
        return query

    def object_name(self) -> str:
        """An sObject name: `Order` is one, although ORDER is also a keyword (SOQL reads it by position)."""
        kind, value = self.take()
        if kind != "word":
            raise malformed(f"unexpected token: '{value}'")
        return str(value)

    def order_list(self) -> list[tuple[str, bool, bool]]:
        order = []
        while True:
            path = self.ident()
            descending = self.peek() == "DESC"
            if self.peek() in ("ASC", "DESC"):
                self.take()
            nulls_last = descending  # SOQL: ascending puts nulls first, descending last
            if self.peek() == "NULLS":
                self.take()
                nulls_last = self.take()[1].upper() == "LAST"
            order.append((path, descending, nulls_last))
            if self.peek() != ",":
                return order
            self.take(",")

    def expr(self) -> Any:
        node = self.conjunction()
        while self.peek() == "OR":
            self.take()
            node = ("or", node, self.conjunction())
        return node

    def conjunction(self) -> Any:
        node = self.unary()
        while self.peek() == "AND":
            self.take()
            node = ("and", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.peek() == "NOT":
            self.take()
            return ("not", self.unary())
        if self.peek() == "(":
            self.take("(")
            node = self.expr()
            self.take(")")
            return node
        return self.comparison()

    def comparison(self) -> Any:
        path = self.ident()
        operator = self.peek()
        if operator == "NOT":
            self.take()
            self.take("IN")
            return ("not", ("cmp", path, "IN", self.literal_list()))
        if operator == "IN":
            self.take()
            return ("cmp", path, "IN", self.literal_list())
        if operator not in ("=", "!=", "<>", "<", "<=", ">", ">=", "LIKE"):
            raise malformed(f"unexpected token: '{operator}'")
        self.take()
        return ("cmp", path, "!=" if operator == "<>" else operator, self.literal())

    def literal_list(self) -> list[Any]:
        self.take("(")
        values = [self.literal()]
        while self.peek() == ",":
            self.take(",")
            values.append(self.literal())
        self.take(")")
        return values

    def literal(self) -> Any:
        kind, value = self.take()
        return literal(kind, value)


def parse(text: str) -> Query:
    return _Parser(text).parse()
