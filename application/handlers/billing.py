"""Apply a billing-side trigger: fetch the current object and apply it whole (DESIGN §3).

Payment failure suspends the account's active subscriptions; a later successful payment resumes
them. Billing owns the status; concord asks billing to suspend or resume and records what billing says.
"""

from __future__ import annotations

from application.app import retry_on_conflict
from application.commands import ApplyBillingTrigger
from application.correlation import crm_id_for
from application.errors import NotFound, PermanentError, RetryableError
from application.handlers.orders import apply_change_made_while_suspended, ended_in_billing
from application.services import Outcome, Services
from domain.account import Account
from domain.order import Order, OrderStatus

PAYMENT_FAILED = "failed"


def apply_billing_trigger(command: ApplyBillingTrigger, svc: Services) -> Outcome:
    if command.object_type == "subscription":
        return retry_on_conflict(lambda: _subscription(command, svc))
    return retry_on_conflict(lambda: _account(command, svc))


def _subscription(command: ApplyBillingTrigger, svc: Services) -> Outcome:
    subscription = svc.billing.get_subscription(command.object_id)
    crm_id = crm_id_for(svc.app, "order", "billing", subscription.billing_id) or subscription.order_crm_id
    order = svc.app.get_or_none(Order, crm_id) if crm_id else None
    if order is None:
        # The create may still be in flight (its answer not yet stored): retry, then dead-letter.
        raise RetryableError(f"no order knows subscription {subscription.billing_id} yet", code="ORDER_PENDING")
    transition = order.apply_billing_subscription(subscription, command.correlation_id)
    if transition is None:
        return Outcome("noop", "stale or duplicate", str(order.id))
    order.record_synced("crm-status", {"billing": subscription.billing_id}, command.correlation_id,
                        order.idempotency_key(f"billing-{transition}"))
    svc.app.save(order)
    if transition == "resume":
        apply_change_made_while_suspended(order, command.correlation_id, svc)
    return Outcome(transition, subscription.status, str(order.id))


def _account(command: ApplyBillingTrigger, svc: Services) -> Outcome:
    billing_id = command.account_id or command.object_id
    billing = svc.billing.get_account(billing_id)
    crm_id = crm_id_for(svc.app, "account", "billing", billing.billing_id) or billing.crm_id
    account = svc.app.get_or_none(Account, crm_id) if crm_id else None
    if account is None:
        raise NotFound(f"no account is linked to billing account {billing.billing_id}", code="UNKNOWN_ACCOUNT")
    changes = account.apply_billing_state(billing, command.correlation_id)
    ignored = account.foreign_disagreements(billing)
    if ignored:
        svc.log.warning("ignored billing's values of CRM-owned fields",
                        extra={"crm_id": account.crm_id, "fields": ignored})
    orders = _follow_payment_state(account, changes.get("payment_state"), command.correlation_id, svc)
    if not changes:
        return Outcome("noop", "stale or duplicate", str(account.id))
    svc.app.save(account, *orders)
    for order in orders:
        if order.status == OrderStatus.ACTIVE:  # resumed
            apply_change_made_while_suspended(order, command.correlation_id, svc)
    return Outcome("billing-state", ",".join(sorted(changes)), str(account.id))


def _follow_payment_state(account: Account, payment_state: str | None, cid: str, svc: Services) -> list[Order]:
    """Suspend active orders on a failed payment; resume suspended ones once paid."""
    if payment_state is None:
        return []
    changed: list[Order] = []
    for order_crm_id in account.orders:
        order = svc.app.get_or_none(Order, order_crm_id)
        if order is None or not order.subscription:
            continue
        try:
            if payment_state == PAYMENT_FAILED and order.status == OrderStatus.ACTIVE:
                key = order.idempotency_key("suspend-subscription")
                subscription = svc.billing.suspend_subscription(order.subscription["id"], key)
                order.suspend("payment failed", cid, subscription.version)
            elif payment_state != PAYMENT_FAILED and order.status == OrderStatus.SUSPENDED:
                key = order.idempotency_key("resume-subscription")
                subscription = svc.billing.resume_subscription(order.subscription["id"], key)
                order.resume(cid, subscription.version)
            else:
                continue
        except PermanentError as exc:  # refused because billing cancelled it meanwhile: follow billing
            ended = ended_in_billing(order, exc, cid, svc)
            if ended is None:
                raise
            subscription, key = ended, order.idempotency_key("billing-cancel")
        order.record_synced("billing", {"billing": subscription.billing_id}, cid, key)
        changed.append(order)
    return changed
