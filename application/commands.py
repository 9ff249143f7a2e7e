"""Commands: what an entrypoint builds from one message and hands to one handler."""

from __future__ import annotations

from dataclasses import dataclass

from domain.sync import CrmChange


@dataclass(frozen=True)
class SyncAccountFromCrm:
    change: CrmChange
    correlation_id: str
    attempt: int = 1  # the queue's receive count: a redelivery looks in billing before creating
    force_push: bool = False  # a repair: send every CRM-owned field even when concord saw no change


@dataclass(frozen=True)
class SyncOrderFromCrm:
    """An Order or OrderItem changed: the order is read whole from the CRM (lines live elsewhere)."""

    order_crm_id: str
    correlation_id: str
    # Reconcile's repair of a subscription whose quantities differ from the CRM's while concord already
    # holds the CRM's lines (a clerk edited billing, or a late write of a killed worker): billing is read,
    # and amended back to the CRM's lines only if it still differs.
    amend_billing: bool = False


@dataclass(frozen=True)
class SyncProductFromCrm:
    """A Product2 or PricebookEntry changed: the product and its prices are read whole."""

    product_crm_id: str
    correlation_id: str
    attempt: int = 1  # the queue's receive count: a redelivery sends the stored details again


@dataclass(frozen=True)
class ApplyBillingTrigger:
    """A billing webhook/callout said something changed; we fetch the object and apply it whole."""

    object_type: str  # "account" | "subscription" | "payment"
    object_id: str
    account_id: str | None
    event_name: str  # AccountChanged | SubscriptionChanged | PaymentFailed | PaymentProcessed
    correlation_id: str


@dataclass(frozen=True)
class WriteBackStatus:
    """Tell the CRM user how the sync of their record went (from a domain event on the bus)."""

    entity: str  # "account" | "order" | "product"
    crm_id: str
    state: str  # "synced" | "failed"
    message: str
    billing_ids: dict[str, str]
    event_id: str
    correlation_id: str


@dataclass(frozen=True)
class LinkExternalIds:
    """An external system told us its id for an entity (POST /events with data.links)."""

    entity: str
    system: str
    external_id: str
    crm_id: str
    correlation_id: str
