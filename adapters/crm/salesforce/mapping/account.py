"""Account <-> canonical account fields (flat names, DESIGN §3: each field carries its own position)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.crm.salesforce.mapping.fields import ACCOUNT_FIELDS, ACCOUNT_STATUS, ADDRESS_PREFIXES
from adapters.crm.salesforce.mapping.values import need, text, timestamp
from domain.canonical import CrmAccount, validate_account_fields
from domain.errors import ValidationError
from domain.iso import COUNTRIES

_STATUS_FROM_SF = {label.casefold(): name for name, label in ACCOUNT_STATUS.items()}


def status_from_sf(value: Any) -> str | None:
    label = text("status", value)
    if label is None:
        return None
    try:
        return _STATUS_FROM_SF[label.strip().casefold()]
    except KeyError:
        raise ValidationError("status", f"Account_Status__c {label!r} is not one of "
                              f"{sorted(ACCOUNT_STATUS.values())}") from None


def country_from_sf(field: str, code: Any, name: Any) -> str | None:
    """ISO alpha-2 from *CountryCode (picklists on), else *Country when it already holds a code."""
    for value in (code, name):
        candidate = text(field, value)
        if candidate and candidate.strip().upper() in COUNTRIES:
            return candidate.strip().upper()
    if text(field, name):
        raise ValidationError(field, f"{name!r} is not an ISO 3166-1 alpha-2 code (turn on State and Country/"
                              "Territory Picklists so BillingCountryCode is filled)")
    return None


def account_fields_from_sf(record: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical fields of an Account record; empty Salesforce fields are left out."""
    raw: dict[str, Any] = {name: record.get(sf) for name, sf in ACCOUNT_FIELDS.items()}
    raw["status"] = status_from_sf(record.get("Account_Status__c"))
    for side, prefix in ADDRESS_PREFIXES.items():
        raw[f"{side}.country"] = country_from_sf(f"{side}.country", record.get(f"{prefix}CountryCode"),
                                                 record.get(f"{prefix}Country"))
    present = {name: value for name, value in raw.items() if value not in (None, "")}
    return {name: value for name, value in validate_account_fields(present, partial=True).items()
            if value is not None}


def account_from_sf(record: Mapping[str, Any]) -> CrmAccount:
    crm_id = text("crm_id", need(record, "Id", "crm_id")) or ""
    return CrmAccount(crm_id=crm_id, fields=account_fields_from_sf(record),
                      modified_at=timestamp("modified_at", record.get("LastModifiedDate")))


def account_to_sf(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical account fields -> Account field values (only the given ones; None clears the field)."""
    clean = validate_account_fields(dict(fields), partial=True)
    body: dict[str, Any] = {}
    for name, value in clean.items():
        side, _, part = name.partition(".")
        if part == "country":
            body[f"{ADDRESS_PREFIXES[side]}CountryCode"] = value
        elif name == "status":
            body["Account_Status__c"] = ACCOUNT_STATUS[value] if value is not None else None
        else:
            body[ACCOUNT_FIELDS[name]] = value
    return body
