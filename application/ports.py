"""Ports: the capabilities the use cases need, named by what they do (DESIGN §1).

Adapters implement them (adapters/crm, adapters/billing, adapters/aws, adapters/memory); each
implementation passes the same contract suite (tests/contract). Every vendor write takes an
`idempotency_key` that the caller derives deterministically (aggregate id, version, action), so a
retry after a crash reuses it. Adapters raise only application.errors classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar

from domain.canonical import (
    BillingAccount,
    BillingProductRef,
    BillingSubscription,
    CrmAccount,
    OrderSnapshot,
    PriceSpec,
    ProductSnapshot,
    SubscriptionRequest,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; `next_cursor` is None on the last page."""

    items: Sequence[T]
    next_cursor: str | None = None


@dataclass(frozen=True)
class SyncStatus:
    """What concord writes back onto the CRM record a user changed."""

    state: str  # "synced" | "pending" | "failed"
    message: str = ""
    correlation_id: str = ""
    billing_ids: Mapping[str, str] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True)
class ChangedPage(Generic[T]):
    """One page of records changed since a moment, in (modified_at, crm_id) order.

    `next_cursor` is the watermark after the page's last record (None: nothing more now); `invalid`
    names the records of the page concord cannot map (crm_id, reason): they are skipped, not fatal.
    """

    items: Sequence[T]
    next_cursor: str | None = None
    invalid: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class ApiUsage:
    """The CRM's daily API quota as it last reported it (Salesforce: a rolling 24 h window)."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)


class CrmGateway(Protocol):
    """The CRM (Salesforce): read records, list them for loads, write sync status back.

    The `changed_*` listings page by an inclusive (LastModifiedDate, Id) watermark: a page starts AT
    the cursor's record, which is dropped again (de-duplication at the boundary), so a record sharing
    the boundary's second is never skipped. `since` (ISO 8601, or None for everything) keeps records
    with LastModifiedDate >= since. A record modified while a load runs moves to the end and is listed
    again: consumers must be idempotent.
    """

    def get_account(self, crm_id: str) -> CrmAccount: ...

    def get_order(self, crm_id: str) -> OrderSnapshot: ...

    def get_product(self, crm_id: str) -> ProductSnapshot: ...

    def write_status(self, entity: str, crm_id: str, status: SyncStatus, idempotency_key: str) -> None: ...

    def list_accounts(self, cursor: str | None, limit: int) -> Page[CrmAccount]: ...

    def changed_accounts(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[CrmAccount]:
        """Accounts whole, as a whole-record read would return them (one query a page)."""
        ...

    def changed_orders(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[OrderSnapshot]:
        """Orders with their lines (Salesforce: one query for the orders, one for all their lines)."""
        ...

    def changed_products(self, since: str | None, cursor: str | None, limit: int) -> ChangedPage[ProductSnapshot]:
        """Products with their active prices (Salesforce: one query for products, one for their prices)."""
        ...

    def count_changed(self, entity: str, since: str | None) -> int:
        """How many `changed_<entity>s` would list from the start (Salesforce: one SELECT COUNT())."""
        ...

    def api_usage(self) -> ApiUsage | None:
        """The quota as of the last answer (no call of its own); None if the CRM has not said."""
        ...

    def parent_id(self, entity: str, crm_id: str) -> str:
        """The order of an order line, the product of a price entry (change events may omit it)."""
        ...


class BillingGateway(Protocol):
    """The billing system (Zuora, Stripe, ...): accounts, catalog, subscriptions."""

    vendor: str
    account_fields: frozenset[str]
    """The canonical account fields (domain.canonical.ACCOUNT_FIELDS) this vendor holds: each one written
    on create comes back on read (the contract suite checks it). Reconciliation compares exactly these,
    a value on one side and none on the other included; the others have no home in this vendor."""

    def find_account(self, crm_id: str) -> BillingAccount | None: ...

    def get_account(self, billing_id: str) -> BillingAccount: ...

    def get_accounts(self, wanted: Mapping[str, str]) -> dict[str, BillingAccount]:
        """A batched read of {billing id: CRM id} (one CRM page): the accounts found, by billing id.

        An id missing from the answer is not in billing (no NotFound). The adapter splits the batch into
        the vendor's bounded requests; memory follows len(wanted). A vendor whose batched read may lag
        (Stripe search) falls back to single reads for what it did not find.
        """
        ...

    def create_account(self, crm_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount: ...

    def update_account(self, billing_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        """Apply only the given canonical fields; the rest stay as they are."""
        ...

    def list_accounts(self, cursor: str | None, limit: int) -> Page[BillingAccount]: ...

    def ensure_product(self, product: ProductSnapshot, idempotency_key: str) -> BillingProductRef:
        """Create the product (and the plan that holds its prices) or update its details."""
        ...

    def create_price(self, product: BillingProductRef, price: PriceSpec, idempotency_key: str) -> str:
        """A new price (Stripe prices are immutable; Zuora gets a new charge): returns its id."""
        ...

    def retire_price(self, product: BillingProductRef, price_id: str, idempotency_key: str) -> None: ...

    def find_subscription(self, order_crm_id: str) -> BillingSubscription | None: ...

    def get_subscription(self, billing_id: str) -> BillingSubscription: ...

    def create_subscription(self, request: SubscriptionRequest, idempotency_key: str) -> BillingSubscription: ...

    def amend_subscription(
        self, billing_id: str, request: SubscriptionRequest, idempotency_key: str
    ) -> BillingSubscription: ...

    def cancel_subscription(self, billing_id: str, effective: date, idempotency_key: str) -> BillingSubscription: ...

    def suspend_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription: ...

    def resume_subscription(self, billing_id: str, idempotency_key: str) -> BillingSubscription: ...


class TokenProvider(Protocol):
    """An access token for a system; `invalidate` after a 401 forces a fresh read (DESIGN §2.5)."""

    def token(self, system: str) -> str: ...

    def invalidate(self, system: str, rejected: str) -> str: ...


class EventPublisher(Protocol):
    """Puts canonical envelopes (DESIGN §4) on the bus; returns only once they are durably accepted."""

    def publish(self, envelopes: Sequence[Mapping[str, Any]]) -> None: ...


class Notifier(Protocol):
    """Pushes a message to every WebSocket connection of a room."""

    def notify(self, room: str, message: Mapping[str, Any]) -> int: ...


class Clock(Protocol):
    def now(self) -> datetime: ...
