"""Event Relay envelopes -> CrmChange (change events) or PlatformEvent (`…__e`).

Only the Event Relay shape is accepted: the Salesforce event sits under `detail.payload`
(VENDORS §0 #6). The older AppFlow shape (flat `detail.ChangeEventHeader`) is refused with a
PermanentError that says so, instead of being half-understood.

Which fields changed comes from the header, never from the payload alone: an UPDATE's payload
carries every field of the event schema, null where unchanged; `changedFields` names the changes
(compound parts as `BillingAddress.City`) and `nulledFields` the ones set to null.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.crm.salesforce.cdc_fields import canonical_fields, flatten
from adapters.crm.salesforce.mapping.fields import CDC_ENTITIES
from application.errors import PermanentError
from domain.sync import CrmChange

SOURCE_PREFIX = "aws.partner/salesforce.com/"
CHANGE_TYPES = {"CREATE": "create", "UPDATE": "update", "DELETE": "delete", "UNDELETE": "undelete",
                "GAP_CREATE": "gap", "GAP_UPDATE": "gap", "GAP_DELETE": "gap", "GAP_UNDELETE": "gap",
                "GAP_OVERFLOW": "overflow"}
_ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country", "CountryCode")


@dataclass(frozen=True)
class PlatformEvent:
    name: str  # the event's API name, e.g. Order_Sync__e
    fields: Mapping[str, Any]  # the payload's custom fields (…__c)
    created_at: str
    created_by: str
    event_uuid: str
    event_id: str  # the EventBridge envelope id (dedupe)


def _bad(field: str, message: str) -> PermanentError:
    return PermanentError(f"Salesforce event: {field} {message}", system="salesforce", code="INVALID_EVENT",
                          field=field)


def _typed(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], field: str) -> Any:
    value = mapping.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _bad(field, f"must be {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _payload(envelope: Any) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    if not isinstance(envelope, Mapping):
        raise _bad("envelope", "is not a JSON object")
    detail = _typed(envelope, "detail", Mapping, "detail")
    source = str(envelope.get("source", ""))
    if "payload" not in detail and ("ChangeEventHeader" in detail or "appflow" in source):
        raise _bad("detail", "has the flat AppFlow shape (detail.ChangeEventHeader); concord reads Event Relay "
                   "envelopes, where the event sits under detail.payload")
    if not source.startswith(SOURCE_PREFIX):
        raise _bad("source", f"{source!r} is not an Event Relay partner source ({SOURCE_PREFIX}<org>/<channel>)")
    return detail, _typed(detail, "payload", Mapping, "detail.payload")


def parse(envelope: Any) -> CrmChange | PlatformEvent:
    """Either kind, by `detail-type`: `…ChangeEvent` or `…__e`."""
    detail_type = str(envelope.get("detail-type", "")) if isinstance(envelope, Mapping) else ""
    if detail_type.endswith("__e"):
        return parse_platform_event(envelope)
    return parse_change(envelope)


def parse_platform_event(envelope: Any) -> PlatformEvent:
    _, payload = _payload(envelope)
    return PlatformEvent(name=_typed(envelope, "detail-type", str, "detail-type"),
                         fields={k: v for k, v in payload.items() if k.endswith("__c")},
                         created_at=str(payload.get("CreatedDate") or ""),
                         created_by=str(payload.get("CreatedById") or ""),
                         event_uuid=str(payload.get("EventUuid") or ""), event_id=_typed(envelope, "id", str, "id"))


def origin_client(change_origin: str) -> str | None:
    """`com/salesforce/api/rest/60.0;client=crm-billing-sync` -> `crm-billing-sync`."""
    for part in change_origin.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip() == "client" and value.strip().rstrip("/"):
            return value.strip().rstrip("/")
    return None


def parse_change(envelope: Any) -> CrmChange:
    _, payload = _payload(envelope)
    header = _typed(payload, "ChangeEventHeader", Mapping, "ChangeEventHeader")
    entity_name = _typed(header, "entityName", str, "ChangeEventHeader.entityName")
    entity = CDC_ENTITIES.get(entity_name)
    if entity is None:
        raise _bad("ChangeEventHeader.entityName", f"{entity_name!r} is not one of {sorted(CDC_ENTITIES)}")
    change_type = CHANGE_TYPES.get(str(header.get("changeType")))
    if change_type is None:
        raise _bad("ChangeEventHeader.changeType", f"{header.get('changeType')!r} is not one of "
                   f"{sorted(CHANGE_TYPES)}")
    record_ids = _typed(header, "recordIds", list, "ChangeEventHeader.recordIds")
    if not record_ids or not all(isinstance(i, str) and i for i in record_ids):
        raise _bad("ChangeEventHeader.recordIds", "must be a non-empty list of ids")
    fields, complete = _fields(entity, change_type, header, payload)
    return CrmChange(
        entity=entity, crm_ids=tuple(record_ids), change_type=change_type, fields=fields,
        position=(_typed(header, "commitNumber", int, "ChangeEventHeader.commitNumber"),
                  _typed(header, "sequenceNumber", int, "ChangeEventHeader.sequenceNumber")),
        committed_at_ms=_typed(header, "commitTimestamp", int, "ChangeEventHeader.commitTimestamp"),
        origin_client=origin_client(str(header.get("changeOrigin") or "")),
        transaction_key=str(header.get("transactionKey") or ""), event_id=_typed(envelope, "id", str, "id"),
        needs_fetch=change_type in ("gap", "overflow") or not complete or any("*" in i for i in record_ids))


def _fields(entity: str, change_type: str, header: Mapping[str, Any],
            payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Canonical changed fields, and whether the event carried them all (else the record is re-read)."""
    if change_type in ("gap", "overflow", "delete"):
        return {}, True
    flat = flatten({k: v for k, v in payload.items() if k != "ChangeEventHeader"})
    if change_type in ("create", "undelete"):
        return canonical_fields(entity, {k: v for k, v in flat.items() if v is not None}), True
    changed = _typed(header, "changedFields", list, "ChangeEventHeader.changedFields")
    nulled = header.get("nulledFields") or []
    if not isinstance(nulled, list):
        raise _bad("ChangeEventHeader.nulledFields", f"must be a list, got {type(nulled).__name__}")
    if any(isinstance(n, str) and n.startswith("0x") for n in [*changed, *nulled]):
        return {}, False  # a bitmap (Pub/Sub encoding) cannot be read without the schema: re-read
    nulled_names = {n for name in nulled for n in _flat_names(str(name), payload)}
    names = {n for name in changed for n in _flat_names(str(name), payload)} | nulled_names
    missing = {n for n in names - nulled_names if n not in flat}
    values = {n: None if n in nulled_names else flat.get(n) for n in names}
    return canonical_fields(entity, values), not missing


def _flat_names(name: str, payload: Mapping[str, Any]) -> list[str]:
    """`BillingAddress.City` -> [`BillingCity`]; a whole compound `BillingAddress` -> each part it carries."""
    compound, _, part = name.partition(".")
    if not compound.endswith("Address"):
        return [name]
    prefix = compound.removesuffix("Address")
    if part:
        return [prefix + part]
    nested = payload.get(compound)
    parts = nested if isinstance(nested, Mapping) else _ADDRESS_PARTS
    return [prefix + key for key in parts]
