"""The sandbox's objects: ids in Stripe's shapes, lists newest first with cursors, search with freshness."""

from __future__ import annotations

import base64
import itertools
import secrets
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from infrastructure.sandboxes.base import SandboxClock
from infrastructure.sandboxes.stripe import search
from infrastructure.sandboxes.stripe.errors import InvalidParams, missing
from infrastructure.sandboxes.stripe.params import integer, text

_ALPHABET = string.ascii_letters + string.digits
Obj = dict[str, Any]


class Store:
    def __init__(self, clock: SandboxClock, search_lag_s: float = 0.0) -> None:
        self.clock, self.search_lag_s = clock, search_lag_s
        self.objects: dict[str, dict[str, Obj]] = {}
        self._seq: dict[str, int] = {}
        self._written: dict[str, float] = {}
        self._counter = itertools.count()

    def now(self) -> int:
        return int(self.clock.now())

    def new(self, prefix: str, kind: str, object_id: str | None = None) -> Obj:
        """A fresh object with the fields every Stripe object carries."""
        object_id = object_id or f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(14))
        return {"id": object_id, "object": kind, "created": self.now(), "livemode": False, "metadata": {}}

    def save(self, obj: Obj) -> Obj:
        bucket = self.objects.setdefault(obj["object"], {})
        if obj["id"] not in bucket:
            self._seq[obj["id"]] = next(self._counter)
        bucket[obj["id"]] = obj
        self._written[obj["id"]] = self.clock.now()
        return obj

    def get(self, kind: str, object_id: str, param: str = "id") -> Obj:
        obj = self.objects.get(kind, {}).get(object_id)
        if obj is None:
            raise missing(kind.replace("_", " "), object_id, param)
        return obj

    def exists(self, kind: str, object_id: str) -> bool:
        return object_id in self.objects.get(kind, {})

    def newest_first(self, kind: str, keep: Callable[[Obj], bool] = lambda obj: True) -> list[Obj]:
        items = [obj for obj in self.objects.get(kind, {}).values() if keep(obj)]
        return sorted(items, key=lambda obj: (obj["created"], self._seq[obj["id"]]), reverse=True)

    def list_page(self, kind: str, url: str, query: Mapping[str, Any], items: list[Obj]) -> Obj:
        """Stripe's list: `limit` 1..100 (10 by default), cursors `starting_after` / `ending_before`."""
        limit = integer(query, "limit", minimum=1, maximum=100) or 10
        after, before = text(query, "starting_after"), text(query, "ending_before")
        ids = [obj["id"] for obj in items]
        if after:
            self._cursor(kind, after, ids, "starting_after")
            window = items[ids.index(after) + 1:][:limit]
            more = len(items) > ids.index(after) + 1 + limit
        elif before:
            self._cursor(kind, before, ids, "ending_before")
            window = items[:ids.index(before)][-limit:]
            more = ids.index(before) > limit
        else:
            window, more = items[:limit], len(items) > limit
        return {"object": "list", "url": url, "has_more": more, "data": window}

    def search_page(self, url: str, query: Mapping[str, Any], items: Iterable[Obj], fields: Iterable[str]) -> Obj:
        """Search results are eventually consistent at Stripe: an object written less than
        `search_lag_s` ago (sandbox clock) is not found yet."""
        join, clauses = search.parse(text(query, "query", required=True) or "", fields)
        limit = integer(query, "limit", minimum=1, maximum=100) or 10
        offset = _page_offset(text(query, "page"))
        fresh_before = self.clock.now() - self.search_lag_s
        found = [obj for obj in items
                 if self._written.get(obj["id"], 0) <= fresh_before and search.matches(obj, join, clauses)]
        window = found[offset:offset + limit]
        more = len(found) > offset + limit
        next_page = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if more else None
        return {"object": "search_result", "url": url, "has_more": more, "next_page": next_page, "data": window}

    def _cursor(self, kind: str, object_id: str, ids: list[str], param: str) -> None:
        if object_id not in ids:
            raise missing(kind.replace("_", " "), object_id, param)


def _page_offset(page: str | None) -> int:
    if not page:
        return 0
    try:
        return int(base64.urlsafe_b64decode(page.encode()).decode())
    except ValueError as exc:
        raise InvalidParams("Invalid page token", param="page") from exc
