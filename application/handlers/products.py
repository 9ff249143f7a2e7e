"""Sync the catalog to billing: the product, then each new price version, then retire the old ones."""

from __future__ import annotations

from decimal import Decimal

from eventsourcing.domain import Aggregate

from application.app import VendorWrites, retry_on_conflict
from application.commands import SyncProductFromCrm
from application.correlation import link_ids
from application.errors import PermanentError
from application.handlers.accounts import _record_failure
from application.services import Outcome, Services
from domain.canonical import BillingProductRef, PriceSpec
from domain.errors import DomainError
from domain.product import Product
from domain.values import BillingPeriod, Money


def sync_product_from_crm(command: SyncProductFromCrm, svc: Services) -> Outcome:
    writes = VendorWrites()
    if command.attempt > 1:
        # The port cannot read billing's catalog: a redelivery, which may follow a worker killed
        # after an older ensure_product landed, sends the stored details again (one write).
        writes.redelivered(command.correlation_id, command.attempt)
    return retry_on_conflict(lambda: _sync(command, svc, writes), writes=writes)


def _sync(command: SyncProductFromCrm, svc: Services, writes: VendorWrites) -> Outcome:
    cid = command.correlation_id
    snapshot = svc.crm.get_product(command.product_crm_id)
    product = svc.app.get_or_none(Product, snapshot.crm_id)
    pending: list[Aggregate] = []
    if product is None:
        product = Product.register(snapshot, cid)
        details_changed = True
    else:
        details_changed = bool(product.apply_crm_read(snapshot, cid))
    # After a lost version race (or on a redelivery) billing may hold older details than the
    # stored ones: they are pushed again even when this read of the CRM changes nothing.
    details_changed = details_changed or writes.may_be_stale
    if not (details_changed or product.unlinked_prices() or product.unlinked_prices(active=False)
            or product.retired_linked_prices() or not product.billing):
        return Outcome("noop", aggregate_id=str(product.id))
    svc.app.save(product)  # new versions are recorded before any vendor call (a crash leaves no orphan unknown)
    try:
        ref = _ensure_product(product, details_changed, cid, svc, writes)
        _publish_new_prices(product, ref, cid, svc)
        # Saved BEFORE the old prices are retired in billing: from here on orders fix the new
        # price, so none can be submitted on a price billing is about to refuse.
        pending += link_ids(svc.app, "product", product.crm_id, {"sku": product.sku, "billing": ref.product_id}, cid)
        svc.app.save(product, *pending)
        _retire_old_prices(product, ref, cid, svc)
    except (PermanentError, DomainError) as exc:
        _record_failure(product, exc, cid, svc)
        raise
    product.record_synced("billing", {"billing": ref.product_id}, cid, product.idempotency_key("sync-product"))
    svc.app.save(product)
    return Outcome("synced", snapshot.sku, str(product.id))


def _ensure_product(product: Product, details_changed: bool, cid: str, svc: Services,
                    writes: VendorWrites) -> BillingProductRef:
    """The stored details, never this worker's read of the CRM (which a newer sync may have passed)."""
    if product.billing and not details_changed:
        return BillingProductRef(str(product.billing["product_id"]), product.billing.get("plan_id"))
    if writes.may_be_stale:
        key = writes.repush_key(product, "ensure-product", product.details)
    else:
        key = product.idempotency_key("ensure-product", product.details)
    writes.record(key)
    ref = svc.billing.ensure_product(product.details_snapshot(), key)
    product.link_billing(ref.product_id, ref.plan_id, cid)
    return ref


def _publish_new_prices(product: Product, ref: BillingProductRef, cid: str, svc: Services) -> None:
    """New versions first, so no moment exists where a product has no active price in billing.

    The key names the amount: a version number reused after a crash (its first attempt never saved)
    for another amount is another request, never the stored answer of the first."""
    # A retired version never confirmed may have been created by a worker that died before saving
    # the answer: the same request replays its id, and it is then retired like any other.
    for key, version in product.unlinked_prices() + product.unlinked_prices(active=False):
        spec = PriceSpec(Money(Decimal(version["amount"]), version["currency"]), BillingPeriod(version["period"]))
        price_key = f"{product.id}:price:{key}:v{version['version']}:{spec.amount.amount}"
        product.link_price(key, version["version"], svc.billing.create_price(ref, spec, price_key), cid)


def _retire_old_prices(product: Product, ref: BillingProductRef, cid: str, svc: Services) -> None:
    for key, version in product.retired_linked_prices():
        svc.billing.retire_price(ref, version["price_id"], f"{product.id}:retire:{key}:v{version['version']}")
        product.mark_price_retired_in_billing(key, version["version"], cid)
