"""An in-memory billing system that keeps the promises of the BillingGateway contract.

It replays idempotency keys as vendors do (same key -> the first answer), can be told to fail
(`fail_next`) and counts every call, so use-case tests can prove "exactly one vendor write".
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from application.errors import IntegrationError, NotFound, PermanentError, PriceNotSold
from application.ports import Page
from domain.canonical import (
    ACCOUNT_FIELDS,
    BillingAccount,
    BillingProductRef,
    BillingSubscription,
    PriceSpec,
    ProductSnapshot,
    SubscriptionRequest,
)


class MemoryBilling:
    vendor = "memory"
    account_fields = frozenset(ACCOUNT_FIELDS)  # it keeps whatever it is given

    def __init__(self) -> None:
        self.accounts: dict[str, BillingAccount] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.prices: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, BillingSubscription] = {}
        self.calls: Counter[str] = Counter()
        self._replies: dict[str, tuple[str, Any]] = {}
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self._failures: list[tuple[str | None, IntegrationError, bool]] = []

    # -- test controls ---------------------------------------------------------------------
    def fail_next(self, error: IntegrationError, *, method: str | None = None, after_effect: bool = False) -> None:
        """The next call (of `method`) raises `error`; with after_effect the write happens first
        (a crash or timeout after the vendor acted)."""
        self._failures.append((method, error, after_effect))

    @property
    def writes(self) -> int:
        return sum(n for name, n in self.calls.items() if not name.startswith(("get", "find", "list")))

    def set_payment_state(self, billing_id: str, state: str, balance: Decimal = Decimal("0")) -> None:
        """What a payment outcome does to the account (a test drives it like a customer's bank)."""
        account = self.accounts[billing_id]
        self.accounts[billing_id] = replace(account, payment_state=state, balance=balance, version=self._version())

    def cancel_in_billing(self, billing_id: str, on: date) -> None:
        """A billing user cancels the subscription in the billing UI."""
        self.subscriptions[billing_id] = replace(self.subscriptions[billing_id], status="cancelled",
                                                 cancelled_on=on, version=self._version())

    # -- plumbing --------------------------------------------------------------------------
    def _version(self) -> str:
        return f"{next(self._clock):012d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _write(self, method: str, key: str, args: Any, effect: Callable[[], Any]) -> Any:
        self.calls[method] += 1
        stored = self._replies.get(key)
        if stored is not None:
            if stored[0] != repr((method, args)):
                raise PermanentError(f"idempotency key {key} reused with other parameters", code="IDEMPOTENCY")
            return stored[1]
        failure = self._take_failure(method)
        if failure is not None and not failure[1]:
            raise failure[0]
        result = effect()
        self._replies[key] = (repr((method, args)), result)
        if failure is not None:
            raise failure[0]
        return result

    def _read(self, method: str) -> None:
        self.calls[method] += 1
        failure = self._take_failure(method)
        if failure is not None:
            raise failure[0]

    def _take_failure(self, method: str) -> tuple[IntegrationError, bool] | None:
        for index, (wanted, error, after) in enumerate(self._failures):
            if wanted in (None, method):
                del self._failures[index]
                return error, after
        return None

    # -- accounts --------------------------------------------------------------------------
    def find_account(self, crm_id: str) -> BillingAccount | None:
        self._read("find_account")
        return next((a for a in self.accounts.values() if a.crm_id == crm_id), None)

    def get_account(self, billing_id: str) -> BillingAccount:
        self._read("get_account")
        if billing_id not in self.accounts:
            raise NotFound(f"no billing account {billing_id}", system="billing", code="NOT_FOUND")
        return self.accounts[billing_id]

    def get_accounts(self, wanted: Mapping[str, str]) -> dict[str, BillingAccount]:
        self._read("get_accounts")
        return {billing_id: self.accounts[billing_id] for billing_id in wanted if billing_id in self.accounts}

    def create_account(self, crm_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        if not fields.get("name"):
            raise PermanentError("name is required", system="billing", code="MISSING", field="name")

        def effect() -> BillingAccount:
            billing_id = self._new_id("ba_")
            account = BillingAccount(billing_id, f"A{billing_id[3:]}", crm_id, dict(fields), version=self._version())
            self.accounts[billing_id] = account
            return account

        result: BillingAccount = self._write("create_account", idempotency_key, (crm_id, dict(fields)), effect)
        return result

    def update_account(self, billing_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        def effect() -> BillingAccount:
            account = self.get_account(billing_id)
            updated = replace(account, fields={**account.fields, **fields}, version=self._version())
            self.accounts[billing_id] = updated
            return updated

        result: BillingAccount = self._write("update_account", idempotency_key, (billing_id, dict(fields)), effect)
        return result

    def list_accounts(self, cursor: str | None, limit: int) -> Page[BillingAccount]:
        self._read("list_accounts")
        ordered = sorted(self.accounts)
        start = ordered.index(cursor) + 1 if cursor else 0
        chunk = ordered[start:start + limit]
        more = start + limit < len(ordered)
        return Page([self.accounts[i] for i in chunk], chunk[-1] if more and chunk else None)

    # -- catalog ---------------------------------------------------------------------------
    def ensure_product(self, product: ProductSnapshot, idempotency_key: str) -> BillingProductRef:
        def effect() -> BillingProductRef:
            existing = next((pid for pid, p in self.products.items() if p["sku"] == product.sku), None)
            product_id = existing or self._new_id("prod_")
            self.products[product_id] = {"sku": product.sku, "name": product.name, "active": product.active}
            return BillingProductRef(product_id, None)

        result: BillingProductRef = self._write("ensure_product", idempotency_key, product.sku, effect)
        return result

    def create_price(self, product: BillingProductRef, price: PriceSpec, idempotency_key: str) -> str:
        def effect() -> str:
            price_id = self._new_id("price_")
            self.prices[price_id] = {"product": product.product_id, "amount": price.amount, "period": price.period,
                                     "active": True}
            return price_id

        result: str = self._write("create_price", idempotency_key, (product.product_id, price), effect)
        return result

    def retire_price(self, product: BillingProductRef, price_id: str, idempotency_key: str) -> None:
        def effect() -> None:
            if price_id not in self.prices:
                raise NotFound(f"no price {price_id}", system="billing", code="NOT_FOUND")
            self.prices[price_id]["active"] = False

        self._write("retire_price", idempotency_key, price_id, effect)

    # -- subscriptions ---------------------------------------------------------------------
    def find_subscription(self, order_crm_id: str) -> BillingSubscription | None:
        self._read("find_subscription")
        return next((s for s in self.subscriptions.values() if s.order_crm_id == order_crm_id), None)

    def get_subscription(self, billing_id: str) -> BillingSubscription:
        self._read("get_subscription")
        if billing_id not in self.subscriptions:
            raise NotFound(f"no subscription {billing_id}", system="billing", code="NOT_FOUND")
        return self.subscriptions[billing_id]

    def create_subscription(self, request: SubscriptionRequest, idempotency_key: str) -> BillingSubscription:
        def effect() -> BillingSubscription:
            if request.account_billing_id not in self.accounts:
                raise PermanentError("unknown account", system="billing", code="NOT_FOUND", field="account")
            for item in request.items:
                if item.price_id not in self.prices:
                    raise PermanentError(f"no price {item.price_id}", system="billing", code="INVALID_PRICE",
                                         field="items.price")
                if not self.prices[item.price_id]["active"]:  # retired since the order fixed it
                    raise PriceNotSold(f"price {item.price_id} is not active", system="billing",
                                       field="items.price")
            billing_id = self._new_id("sub_")
            subscription = BillingSubscription(billing_id, f"S-{billing_id[4:]}", "active", request.account_billing_id,
                                               request.order_crm_id, self._version(), items=request.items)
            self.subscriptions[billing_id] = subscription
            return subscription

        result: BillingSubscription = self._write("create_subscription", idempotency_key, request, effect)
        return result

    def _change(self, method: str, billing_id: str, key: str, **changes: Any) -> BillingSubscription:
        def effect() -> BillingSubscription:
            current = self.get_subscription(billing_id)
            if current.status == "cancelled":
                raise PermanentError(f"subscription {billing_id} is cancelled", system="billing", code="CANCELLED")
            updated = replace(current, version=self._version(), **changes)
            self.subscriptions[billing_id] = updated
            return updated

        result: BillingSubscription = self._write(method, key, (billing_id, changes), effect)
        return result

    def amend_subscription(self, billing_id: str, request: SubscriptionRequest,
                           idempotency_key: str) -> BillingSubscription:
        return self._change("amend_subscription", billing_id, idempotency_key, items=request.items)

    def cancel_subscription(self, billing_id: str, effective: date, idempotency_key: str) -> BillingSubscription:
        return self._change("cancel_subscription", billing_id, idempotency_key, status="cancelled",
                            cancelled_on=effective)

    def suspend_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        return self._change("suspend_subscription", billing_id, idempotency_key, status="suspended")

    def resume_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription:
        return self._change("resume_subscription", billing_id, idempotency_key, status="active")
