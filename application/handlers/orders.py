"""Turn an activated CRM order into a billing subscription; amend or cancel it (DESIGN §3 state table)."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.domain import Aggregate

from application.app import VendorWrites, retry_on_conflict
from application.commands import SyncOrderFromCrm
from application.correlation import crm_id_for, link_ids
from application.errors import (
    CredentialsRevoked,
    IntegrationError,
    OutcomeUnknown,
    PermanentError,
    PriceNotSold,
    RetryableError,
)
from application.handlers.accounts import _record_failure
from application.services import Outcome, Services
from domain.account import Account
from domain.canonical import (
    BillingSubscription,
    OrderSnapshot,
    SubscriptionItem,
    SubscriptionRequest,
    quantities_by_sku,
)
from domain.errors import DomainError
from domain.order import Order, OrderStatus
from domain.product import Product
from domain.values import Money

CRM_ACTIVATED = "activated"
CRM_CANCELLED = "cancelled"
# Billing no longer sells a price the order fixed, and the CRM order does not sell at the catalog's current
# price: a person decides (the order stays submitted; a change to the CRM order sends it again).
PRICE_DISAGREES = "PRICE_DISAGREES_WITH_ORDER"


def sync_order_from_crm(command: SyncOrderFromCrm, svc: Services) -> Outcome:
    writes = VendorWrites()  # an amendment overtaken by another worker's is pushed again (see _amend)
    return retry_on_conflict(lambda: _sync(command, svc, writes), writes=writes)


def _sync(command: SyncOrderFromCrm, svc: Services, writes: VendorWrites) -> Outcome:
    cid = command.correlation_id
    snapshot = svc.crm.get_order(command.order_crm_id)
    order = svc.app.get_or_none(Order, snapshot.crm_id)
    pending: list[Aggregate] = []
    if order is None:
        order = Order.receive(snapshot, cid)
        pending += link_ids(svc.app, "order", snapshot.crm_id, {}, cid)
    elif order.status == OrderStatus.RECEIVED and order.differs_from(snapshot):
        order.revise(snapshot, cid)
    status = snapshot.status.lower()
    if status == CRM_ACTIVATED and order.status in (OrderStatus.RECEIVED, OrderStatus.SUBMITTED):
        svc.app.save(order, *pending)
        return _create_subscription(order, snapshot, cid, svc)
    if status == CRM_CANCELLED and order.status in (OrderStatus.ACTIVE, OrderStatus.SUSPENDED):
        return _cancel(order, snapshot, cid, svc, pending)
    if order.status == OrderStatus.ACTIVE and (order.differs_from(snapshot) or writes.may_be_stale):
        return _amend(order, snapshot, cid, svc, pending, writes)
    if order.status == OrderStatus.ACTIVE and command.amend_billing and order.subscription:
        billed = svc.billing.get_subscription(str(order.subscription["id"]))
        if quantities_by_sku(billed.items) != quantities_by_sku(snapshot.lines):
            return _amend(order, snapshot, cid, svc, pending, writes, billing_version=billed.version)
    if order.status == OrderStatus.SUSPENDED and order.differs_from(snapshot):
        # Billing amends active subscriptions only: the change waits for the resume (the queue
        # retries it, then keeps it in the DLQ with this reason for a redrive), never dropped.
        svc.app.save(order, *pending)
        raise RetryableError(f"order {order.crm_id} is suspended; its CRM change applies once it is active again",
                             code="ORDER_SUSPENDED")
    svc.app.save(order, *pending)
    return Outcome(order.status.value if pending or order.pending_events else "noop", aggregate_id=str(order.id))


def _price_ids(snapshot: OrderSnapshot, svc: Services) -> dict[str, str]:
    """The billing price of every line, fixed now: the subscription keeps it after a price change."""
    return {sku: price_id for sku, (price_id, _) in _catalog_prices(snapshot, svc).items()}


def _catalog_prices(snapshot: OrderSnapshot, svc: Services) -> dict[str, tuple[str, Money]]:
    """sku -> (billing price id, amount) of the catalog's current price for every line."""
    prices: dict[str, tuple[str, Money]] = {}
    for line in snapshot.lines:
        product_crm_id = crm_id_for(svc.app, "product", "sku", line.sku)
        product = svc.app.get_or_none(Product, product_crm_id) if product_crm_id else None
        if product is None:
            raise RetryableError(f"product {line.sku} is not in the catalog yet", code="PRODUCT_PENDING")
        version = product.price_for(snapshot.currency, line.period)
        if not version["price_id"]:
            raise RetryableError(f"price {line.sku} {snapshot.currency} is not in billing yet", code="PRICE_PENDING")
        prices[line.sku] = (str(version["price_id"]), Money(Decimal(str(version["amount"])), str(version["currency"])))
    return prices


def _request(order: Order, snapshot: OrderSnapshot, account_billing_id: str) -> SubscriptionRequest:
    plan = None
    items = tuple(SubscriptionItem(line.sku, order.prices[line.sku], plan, line.quantity) for line in snapshot.lines)
    return SubscriptionRequest(order.crm_id, account_billing_id, snapshot.currency, snapshot.effective_date,
                               snapshot.term_months, items)


def _billing_account(order: Order, svc: Services) -> Account:
    account = svc.app.get_or_none(Account, order.account_crm_id)
    if account is None or account.billing_id is None:
        # The account's own sync may still be in flight: come back later (the queue retries).
        raise RetryableError(f"account {order.account_crm_id} is not in billing yet", code="ACCOUNT_PENDING")
    return account


def _create_subscription(order: Order, snapshot: OrderSnapshot, cid: str, svc: Services) -> Outcome:
    account = _billing_account(order, svc)
    asked_before = order.status == OrderStatus.SUBMITTED
    try:
        key = order.submit(_price_ids(snapshot, svc) if not asked_before else order.prices, cid)
        svc.app.save(order)  # the intent is durable before the vendor hears of it
        existing = svc.billing.find_subscription(order.crm_id) if asked_before else None
        subscription = existing or _ask(order, snapshot, account, key, cid, svc)
    except OutcomeUnknown:
        raise  # stays submitted; the retry asks again with the same key
    except PermanentError as exc:
        if exc.code != PRICE_DISAGREES:  # that one waits, submitted, for the CRM order to change
            order.reject(exc.message, cid)
        _record_failure(order, exc, cid, svc)
        raise
    return _activated(order, account, subscription, order.submission_key or key, cid, svc)


def _ask(order: Order, snapshot: OrderSnapshot, account: Account, key: str, cid: str,
         svc: Services) -> BillingSubscription:
    """Create the subscription; when billing no longer sells a price the order fixed (retired since, and
    the refusal replayed under this key), fix the prices again and ask under a new key."""
    try:
        return svc.billing.create_subscription(_request(order, snapshot, account.billing_id or ""), key)
    except PriceNotSold as refusal:
        key = _reprice(order, snapshot, refusal, cid, svc)
    svc.app.save(order)  # the new intent is durable before the vendor hears of it
    try:
        return svc.billing.create_subscription(_request(order, snapshot, account.billing_id or ""), key)
    except PriceNotSold as again:  # the catalog moved again meanwhile: the next delivery fixes them again
        raise RetryableError(again.message, code=PriceNotSold.CODE) from again


def _reprice(order: Order, snapshot: OrderSnapshot, refusal: PriceNotSold, cid: str, svc: Services) -> str:
    """The catalog's current prices, when the CRM order line sells at them: the CRM order says what the
    customer was sold, so a price it does not say is never taken silently."""
    catalog = _catalog_prices(snapshot, svc)
    changed = {sku for sku, (price_id, _) in catalog.items() if order.prices.get(sku) != price_id}
    if not changed:
        raise RetryableError(f"billing no longer sells a price of order {order.crm_id} and the catalog has no "
                             f"other price for it yet ({refusal.message})", code=PriceNotSold.CODE)
    disagree = [f"{line.sku} at {line.unit_price.amount} {line.unit_price.currency} (the catalog now sells at "
                f"{catalog[line.sku][1].amount})" for line in snapshot.lines
                if line.sku in changed and catalog[line.sku][1] != line.unit_price]
    if disagree:
        raise PermanentError(
            f"billing no longer sells the price order {order.crm_id} was submitted with, and the CRM order sells "
            f"{'; '.join(disagree)}: change the order's price in the CRM (it is then sent again) or sell that "
            f"price in billing ({refusal.message})", system=refusal.system, code=PRICE_DISAGREES)
    return order.reprice({sku: price_id for sku, (price_id, _) in catalog.items()}, snapshot, refusal.message, cid)


def _activated(order: Order, account: Account, subscription: BillingSubscription, key: str, cid: str,
               svc: Services) -> Outcome:
    order.activate(subscription, cid)
    account.attach_order(order.crm_id, cid)
    ids = {"billing": subscription.billing_id, "billing_number": subscription.number}
    order.record_synced("billing", ids, cid, key)
    svc.app.save(order, account, *link_ids(svc.app, "order", order.crm_id, ids, cid))
    # A subscription a retry found may have been cancelled or suspended in billing meanwhile: the order
    # followed it (Order.activate), and the outcome names where it ended.
    action = "activated" if order.status == OrderStatus.ACTIVE else order.status.value
    return Outcome(action, subscription.number, str(order.id))


def _amend(order: Order, snapshot: OrderSnapshot, cid: str, svc: Services, pending: list[Aggregate],
           writes: VendorWrites, billing_version: str | None = None) -> Outcome:
    """Two workers may amend one order at once: each writes to billing BEFORE the store's version race, so
    the loser's older lines may land after the winner's. The loser's retry then pushes the stored (the
    winner's, the CRM's latest) lines again under a key of its own, even when it finds nothing newer."""
    account = _billing_account(order, svc)
    lines = [line.to_dict() for line in snapshot.lines]
    if writes.may_be_stale:
        key = writes.repush_key(order, "amend-subscription", lines)
    elif billing_version is not None:  # billing moved away from lines concord already sent: a new request
        key = order.idempotency_key("amend-subscription", {"lines": lines, "billing_version": billing_version})
    else:
        key = order.idempotency_key("amend-subscription", lines)
    writes.record(key)
    try:
        subscription = svc.billing.amend_subscription(order.subscription["id"],
                                                      _request(order, snapshot, account.billing_id or ""), key)
    except PermanentError as exc:
        ended = ended_in_billing(order, exc, cid, svc)
        if ended is None:
            _record_failure(order, exc, cid, svc)
            raise
        return _followed_billing(order, ended, "the CRM change was not sent", cid, svc, pending)
    order.amend(snapshot, subscription.version, cid)
    order.record_synced("billing", {"billing": subscription.billing_id}, cid, key)
    svc.app.save(order, *pending)
    return Outcome("amended", f"amendment {order.amendment}", str(order.id))


def _cancel(order: Order, snapshot: OrderSnapshot, cid: str, svc: Services, pending: list[Aggregate]) -> Outcome:
    effective = svc.today()
    key = order.idempotency_key("cancel-subscription", effective.isoformat())
    try:
        subscription = svc.billing.cancel_subscription(order.subscription["id"], effective, key)
    except PermanentError as exc:
        ended = ended_in_billing(order, exc, cid, svc)
        if ended is None:
            raise
        return _followed_billing(order, ended, "billing had cancelled it already", cid, svc, pending)
    order.cancel(effective.isoformat(), "crm", cid, subscription.version)
    order.record_synced("billing", {"billing": subscription.billing_id}, cid, key)
    svc.app.save(order, *pending)
    return Outcome("cancelled", aggregate_id=str(order.id))


def ended_in_billing(order: Order, refusal: PermanentError, cid: str, svc: Services) -> BillingSubscription | None:
    """Billing refused a change to a subscription it had already cancelled (a clerk did, and the callout that
    says so is late or lost; each vendor words the refusal its own way). Billing is right and owns the
    status: the order takes billing's subscription, applied whole, rather than dead-lettering the refusal.
    None when billing's subscription does not explain the refusal (the caller raises it)."""
    if isinstance(refusal, CredentialsRevoked) or not order.subscription:
        return None
    subscription = svc.billing.get_subscription(str(order.subscription["id"]))
    if subscription.status != "cancelled" or order.apply_billing_subscription(subscription, cid) != "cancel":
        return None
    return subscription


def _followed_billing(order: Order, subscription: BillingSubscription, detail: str, cid: str, svc: Services,
                      pending: list[Aggregate]) -> Outcome:
    key = order.idempotency_key("billing-cancel")
    order.record_synced("crm-status", {"billing": subscription.billing_id}, cid, key)
    svc.app.save(order, *pending)
    return Outcome("cancelled", f"cancelled in billing: {detail}", str(order.id))


def apply_change_made_while_suspended(order: Order, cid: str, svc: Services) -> None:
    """Called once an order is active again. A CRM change made while it was suspended waited (ORDER_SUSPENDED:
    billing amends active subscriptions only); its message was retried, and dead-lettered when the suspension
    outlasted the retries, which it usually does (a customer pays days later). So the resume reads the CRM
    order and applies what changed meanwhile. The resume is saved already: a failure here is logged, and
    the dead letter's redrive or reconcile --repair remains."""
    try:
        sync_order_from_crm(SyncOrderFromCrm(order.crm_id, cid), svc)
    except (IntegrationError, DomainError) as exc:
        svc.log.warning("a CRM change waiting for the resume was not applied",
                        extra={"crm_id": order.crm_id, "error": f"{type(exc).__name__}: {exc}"})
