"""Canonical account fields <-> Zuora customer accounts (POST/PUT /v1/accounts, object-query accounts).

Rules:
- The Salesforce Account Id goes to `crmId` (Zuora: up to 100 characters), refused if longer.
- Zuora contacts need a first and last name; both come from the account name ("Acme Ltd" ->
  "Acme" / "Ltd"; one word fills both), cut to 100 characters. Contacts' names are never read back.
- email/phone live on the bill-to contact (`workEmail`, `workPhone`).
- Write bodies (/v1/accounts) name the postal code `zipCode`; object-query answers name it
  `postalCode`. Zuora answers countries by name ("United States"); the canonical model holds alpha-2.
- Not written: `status` (Zuora's own account lifecycle) and `tax_id` (Zuora keeps VAT ids only with
  Zuora Tax). `status` is read back; `tax_id` is not held.
- billCycleDay 1 and autoPay false on create. `payment_state` is derived: a positive balance is
  "failed" (the canonical value: see domain.canonical.BillingAccount), else "current" (Zuora has no such
  field; an invoice not yet due also shows as a positive balance: a known approximation).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.billing.zuora.countries import alpha2_of, country_name
from adapters.billing.zuora.mapping.common import (
    get,
    identifier,
    parse_decimal,
    text_or_none,
    truncate,
    utc_version,
)
from domain.canonical import ADDRESS_PARTS, BillingAccount, validate_account_fields
from domain.errors import ValidationError

_ADDRESS_TO_ZUORA = {"street": "address1", "city": "city", "state": "state", "postal_code": "zipCode",
                     "country": "country"}
_ADDRESS_FROM_QUERY = {"street": "address1", "city": "city", "state": "state", "postal_code": "postalCode",
                       "country": "country"}
_STATUS_FROM_ZUORA = {"Active": "active", "Draft": "inactive", "Canceled": "closed", "Cancelled": "closed"}
_NOT_WRITTEN = frozenset({"status", "tax_id"})


def split_name(name: str) -> tuple[str, str]:
    """Contact first/last names from an account name, each within Zuora's 100 characters."""
    words = name.split()
    first, last = (words[0], " ".join(words[1:])) if len(words) > 1 else (name.strip(), name.strip())
    return truncate(first, "firstName") or "-", truncate(last, "lastName") or "-"


def _contact(fields: Mapping[str, Any], prefix: str, *, with_channels: bool) -> dict[str, Any]:
    """The address (and for bill-to the email/phone) of one contact from canonical fields present."""
    contact: dict[str, Any] = {}
    for part in ADDRESS_PARTS:
        key = f"{prefix}.{part}"
        if key in fields:
            value = fields[key]
            contact[_ADDRESS_TO_ZUORA[part]] = country_name(value) if part == "country" and value else value
    if with_channels:
        for canonical, zuora in (("email", "workEmail"), ("phone", "workPhone")):
            if canonical in fields:
                contact[zuora] = fields[canonical]
    if fields.get("name"):
        contact["firstName"], contact["lastName"] = split_name(fields["name"])
    return contact


def account_create_payload(crm_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """POST /v1/accounts body. Invalid or missing canonical fields raise ValidationError naming them."""
    clean = validate_account_fields(fields, partial=False)
    payload: dict[str, Any] = {
        "name": truncate(clean["name"], "accountName"),
        "crmId": identifier("crm_id", crm_id, "crmId"),
        "currency": clean["currency"],
        "billCycleDay": 1,
        "autoPay": False,
        # Both contacts are sent: Zuora copies bill-to into a missing sold-to, which would invent
        # sold-to fields the CRM never had.
        "billToContact": _contact(clean, "bill_to", with_channels=True),
        "soldToContact": _contact(clean, "sold_to", with_channels=False),
    }
    if clean.get("payment_terms"):
        payload["paymentTerm"] = clean["payment_terms"]
    return payload


def account_update_payload(fields: Mapping[str, Any]) -> dict[str, Any]:
    """PUT /v1/accounts/{key} body with only the given fields (None clears a contact field).

    `currency` is left out: Zuora cannot change it, the gateway checks it against the account.
    """
    clean = {k: v for k, v in validate_account_fields(fields, partial=True).items() if k not in _NOT_WRITTEN}
    if "name" in clean and clean["name"] is None:
        raise ValidationError("name", "is required")
    payload: dict[str, Any] = {}
    if "name" in clean:
        payload["name"] = truncate(clean["name"], "accountName")
    if "payment_terms" in clean:
        payload["paymentTerm"] = clean["payment_terms"]
    bill_to = _contact(clean, "bill_to", with_channels=True)
    sold_to = _contact(clean, "sold_to", with_channels=False)
    if bill_to:
        payload["billToContact"] = bill_to
    if sold_to:
        payload["soldToContact"] = sold_to
    return payload


def _read_contact(contact: Any, prefix: str, fields: dict[str, Any]) -> None:
    for part, zuora in _ADDRESS_FROM_QUERY.items():
        value = text_or_none(contact, zuora)
        if value is None:
            continue
        if part == "country":
            code = alpha2_of(value)
            if code is None:
                raise ValidationError(f"{prefix}.country", f"Zuora holds {value!r}, which is no known country")
            value = code
        fields[f"{prefix}.{part}"] = value


def account_fields_from_zuora(account: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical fields of an object-query account expanded with billTo and soldTo."""
    fields: dict[str, Any] = {"name": get(account, "name", "name"), "currency": get(account, "currency", "currency")}
    if text_or_none(account, "paymentTerm"):
        fields["payment_terms"] = text_or_none(account, "paymentTerm")
    status = _STATUS_FROM_ZUORA.get(str(account.get("status")))
    if status is not None:
        fields["status"] = status
    bill_to = account.get("billTo")
    for canonical, zuora in (("email", "workEmail"), ("phone", "workPhone")):
        if text_or_none(bill_to, zuora):
            fields[canonical] = text_or_none(bill_to, zuora)
    _read_contact(bill_to, "bill_to", fields)
    _read_contact(account.get("soldTo"), "sold_to", fields)
    return fields


def account_from_zuora(account: Mapping[str, Any]) -> BillingAccount:
    balance = parse_decimal("balance", account.get("balance") if account.get("balance") is not None else 0)
    return BillingAccount(
        billing_id=str(get(account, "id", "id")),
        account_number=str(get(account, "accountNumber", "accountNumber")),
        crm_id=text_or_none(account, "crmId"),
        fields=account_fields_from_zuora(account),
        balance=balance,
        payment_state="failed" if balance > Decimal(0) else "current",
        version=utc_version("updatedDate", account.get("updatedDate")),
    )
