"""Bus messages -> commands: the only place that knows which event becomes which use case.

Pure functions (no clients), so the mapping is unit-tested without AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from application.commands import (
    ApplyBillingTrigger,
    LinkExternalIds,
    SyncAccountFromCrm,
    SyncOrderFromCrm,
    SyncProductFromCrm,
    WriteBackStatus,
)
from application.ports import CrmGateway
from domain.errors import ValidationError

SALESFORCE = "aws.partner/salesforce.com"
BILLING = "concord.billing"


def salesforce_change(record: Any) -> Any:
    from adapters.crm.salesforce.cdc import parse_change

    return parse_change(json.loads(record.body))


def billing_trigger(record: Any) -> ApplyBillingTrigger:
    data = record.detail.get("data") or {}
    for name in ("objectType", "objectId"):
        if not isinstance(data.get(name), str) or not data.get(name):
            raise ValidationError(f"data.{name}", "field required")
    return ApplyBillingTrigger(data["objectType"], data["objectId"], data.get("accountId"), record.detail_type,
                               record.correlation_id)


def account_commands(record: Any, services: Any) -> Iterator[object]:
    if record.source.startswith(SALESFORCE):
        yield SyncAccountFromCrm(salesforce_change(record), record.correlation_id, record.receive_count)
    elif record.source == BILLING:
        yield billing_trigger(record)
    else:
        raise ValidationError("source", f"{record.source!r} is not routed to the account service")


def _parents(change: Any, own: str, child: str, parent_field: str, crm: CrmGateway) -> Iterator[str]:
    """Record ids of `own` entities, or the parents of `child` entities (asking the CRM when the
    change event does not carry the parent's id, as update events of child records do not)."""
    for crm_id in change.crm_ids:
        if change.entity == own:
            yield crm_id
        elif change.entity == child:
            yield change.fields.get(parent_field) or crm.parent_id(child, crm_id)
        else:
            raise ValidationError("detail-type", f"{change.entity} changes are not routed here")


def order_commands(record: Any, services: Any) -> Iterator[object]:
    if record.source == BILLING:
        yield billing_trigger(record)
        return
    change = salesforce_change(record)
    for order_id in dict.fromkeys(_parents(change, "order", "order_line", "order_crm_id", services.crm)):
        yield SyncOrderFromCrm(order_id, record.correlation_id)


def product_commands(record: Any, services: Any) -> Iterator[object]:
    change = salesforce_change(record)
    for product_id in dict.fromkeys(_parents(change, "product", "price", "product_crm_id", services.crm)):
        yield SyncProductFromCrm(product_id, record.correlation_id, record.receive_count)


def _link(link: Any, source: str) -> tuple[str, str, str, str]:
    """"entity:crmId:system:externalId" (routable: EventBridge's `exists` matches only leaf values),
    or the object form {entity, crmId, system?, id}; the system defaults to the event's source."""
    if isinstance(link, str):
        entity, crm_id, system, external_id = link.split(":", 3)
        return entity, crm_id, system or source, external_id
    return link["entity"], link["crmId"], link.get("system") or source, link["id"]


def link_commands(record: Any, services: Any) -> Iterator[object]:
    links = (record.detail.get("data") or {}).get("links")
    if not isinstance(links, list) or not links:
        raise ValidationError("data.links", "must be a non-empty list")
    for index, link in enumerate(links):
        try:
            entity, crm_id, system, external_id = _link(link, record.source)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"data.links[{index}]",
                                  'is "entity:crmId:system:externalId" or {entity, crmId, system, id}') from exc
        yield LinkExternalIds(entity, system, external_id, crm_id, record.correlation_id)


WRITE_BACK_STATES = {"Synced": "synced", "SyncFailed": "failed", "Activated": "synced", "Rejected": "failed",
                     "Suspended": "synced", "Resumed": "synced", "Cancelled": "synced"}


# Our ids (Correlation's system names) -> the CRM status fields' names, per entity.
CRM_ID_FIELDS = {
    "account": {"billing": "billing_account_id", "billing_number": "billing_account_number"},
    "order": {"billing": "subscription_id", "billing_number": "subscription_number"},
    "product": {"billing": "billing_product_id"},
}


def writeback_commands(record: Any, services: Any) -> Iterator[object]:
    data = record.detail.get("data") or {}
    entity_type, event_name = record.detail_type.split(".", 1)
    entity = entity_type.lower()
    state = data.get("state") or {}
    message = state.get("reason") or f"{event_name.lower()} in billing"
    crm_id = data.get("crmId")
    if not crm_id:
        raise ValidationError("data.crmId", "field required")
    names = CRM_ID_FIELDS.get(entity, {})
    ids = state.get("ids") if isinstance(state.get("ids"), dict) else {}
    billing_ids = {names[k]: str(v) for k, v in ids.items() if k in names}
    if entity == "order" and state.get("status"):
        billing_ids["subscription_status"] = str(state["status"])
    yield WriteBackStatus(entity, crm_id, WRITE_BACK_STATES.get(event_name, "synced"), message, billing_ids,
                          record.event_id, record.correlation_id)
