"""The tenant's data in memory: accounts, contacts, catalog, subscriptions, payments, numbering.

Ids are 32 hex characters like Zuora's; numbers follow Zuora's defaults (A00000001, A-S00000001,
O-00000001, C-00000001, P-00000001). Timestamps are in the tenant's time zone (here UTC-08:00, as
Zuora answers in the tenant's zone) at second precision, strictly increasing across the tenant so
that two changes in one second still order (a real tenant could give them the same second).
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from infrastructure.sandboxes.base import SandboxClock

TENANT_ZONE = timezone(timedelta(hours=-8))
NUMBER_FORMATS = {"account": "A{:08d}", "subscription": "A-S{:08d}", "order": "O-{:08d}",
                  "charge": "C-{:08d}", "payment": "P-{:08d}", "sku": "SKU-{:08d}"}


class Tenant:
    """Plain dicts in Zuora's own field names; guarded by the sandbox's lock."""

    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self.accounts: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.plans: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}  # number -> latest version
        self.subscription_ids: dict[str, str] = {}  # the id of any version -> number
        self.payments: dict[str, dict[str, Any]] = {}
        self._counters: Counter[str] = Counter()
        self._last_stamp = 0

    @staticmethod
    def new_id() -> str:
        return secrets.token_hex(16)

    def next_number(self, kind: str) -> str:
        self._counters[kind] += 1
        return NUMBER_FORMATS[kind].format(self._counters[kind])

    def stamp(self) -> str:
        second = max(int(self.clock.now()), self._last_stamp + 1)
        self._last_stamp = second
        return datetime.fromtimestamp(second, UTC).astimezone(TENANT_ZONE).isoformat()

    def today(self) -> str:
        return datetime.fromtimestamp(self.clock.now(), TENANT_ZONE).date().isoformat()

    def account(self, key: str) -> dict[str, Any] | None:
        found = self.accounts.get(key)
        if found is None:
            found = next((a for a in self.accounts.values() if a["accountNumber"] == key), None)
        return found

    def subscription(self, key: str) -> dict[str, Any] | None:
        return self.subscriptions.get(self.subscription_ids.get(key, key))

    def product(self, key: str) -> dict[str, Any] | None:
        found = self.products.get(key)
        if found is None:
            found = next((p for p in self.products.values() if p.get("SKU") == key), None)
        return found
