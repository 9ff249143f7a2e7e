"""SyncStatus -> the fields concord writes back onto the CRM record (canonical status -> CRM status)."""

from __future__ import annotations

from typing import Any

from adapters.crm.salesforce.mapping.fields import (
    BILLING_ID_FIELDS,
    CORRELATION_MAX,
    MESSAGE_MAX,
    SYNC_STATES,
    sobject_for,
)
from adapters.crm.salesforce.mapping.values import sf_datetime, truncate
from application.ports import SyncStatus
from domain.canonical import SUBSCRIPTION_STATUSES
from domain.errors import ValidationError


def _billing_id(entity: str, key: str, value: Any) -> tuple[str, str]:
    name, limit = BILLING_ID_FIELDS[entity][key]
    if not isinstance(value, str):
        raise ValidationError(f"billing_ids.{key}", f"must be text, got {type(value).__name__}")
    if key == "subscription_status":
        if value not in SUBSCRIPTION_STATUSES:
            raise ValidationError(f"billing_ids.{key}", f"{value!r} is not one of {sorted(SUBSCRIPTION_STATUSES)}")
        return name, value.title()
    if len(value) > limit:
        # An id cut short would point at another record: refuse rather than truncate.
        raise ValidationError(f"billing_ids.{key}", f"is {len(value)} characters long, Salesforce holds {limit}")
    return name, value


def status_to_sf(entity: str, status: SyncStatus) -> dict[str, Any]:
    """The write-back body. The message is cut to fit (it is for people); ids are refused if too long.

    billing_ids keys other than the entity's known ones (BILLING_ID_FIELDS) are not written: the CRM
    has no field for them.
    """
    sobject_for(entity)
    state = SYNC_STATES.get(status.state)
    if state is None:
        raise ValidationError("state", f"{status.state!r} is not one of {sorted(SYNC_STATES)}")
    if len(status.correlation_id) > CORRELATION_MAX:
        raise ValidationError("correlation_id", f"is {len(status.correlation_id)} characters long, "
                              f"Salesforce holds {CORRELATION_MAX}")
    body: dict[str, Any] = {"Concord_Sync_Status__c": state,
                            "Concord_Sync_Message__c": truncate(status.message, MESSAGE_MAX) or None,
                            "Concord_Correlation_Id__c": status.correlation_id or None}
    if status.at is not None:
        body["Concord_Last_Sync__c"] = sf_datetime(status.at)
    for key, value in sorted(status.billing_ids.items()):
        if key in BILLING_ID_FIELDS[entity]:
            name, converted = _billing_id(entity, key, value)
            body[name] = converted
    return body
