"""Customer accounts: POST/GET/PUT /v1/accounts(/{key}) and their contacts (VENDORS §2 Accounts).

Behaviour kept from Zuora: created Active and atomic; name, currency, billToContact (firstName,
lastName) required; a missing soldToContact is a copy of the bill-to; the account number is
generated (A00000001...); crmId up to 100 characters; countries stored by name; failures are HTTP
200 with success:false; the currency cannot be changed by PUT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.billing.zuora.countries import country_name
from infrastructure.sandboxes.zuora.errors import INVALID, MISSING, NOT_FOUND, UNKNOWN_FIELD, ZuoraFailure
from infrastructure.sandboxes.zuora.state import Tenant

ACCOUNT_LIMITS = {"name": 255, "crmId": 100, "notes": 65535, "batch": 50, "paymentTerm": 100}
CONTACT_LIMITS = {"firstName": 100, "lastName": 100, "workEmail": 80, "workPhone": 40, "personalEmail": 80,
                  "address1": 255, "address2": 255, "city": 40, "state": 40, "zipCode": 20, "country": 64,
                  "county": 32, "nickname": 100, "mobilePhone": 100, "homePhone": 40, "fax": 40}
CREATE_FIELDS = frozenset({"name", "crmId", "currency", "billCycleDay", "autoPay", "paymentTerm", "notes",
                           "batch", "billToContact", "soldToContact", "accountNumber", "invoiceTemplateId",
                           "communicationProfileId", "paymentGateway", "additionalEmailAddresses", "taxInfo"})
UPDATE_FIELDS = CREATE_FIELDS - {"currency", "accountNumber"}


def _check_fields(body: Mapping[str, Any], allowed: frozenset[str], resource: str) -> None:
    for key in body:
        if key not in allowed and not key.endswith("__c"):
            raise ZuoraFailure(resource, UNKNOWN_FIELD, f"Unknown field: {key}")


def _check_length(name: str, value: Any, limit: int, resource: str) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise ZuoraFailure(resource, INVALID, f"'{name}' must be text of at most {limit} characters")


def clean_contact(raw: Any, path: str, *, partial: bool) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise ZuoraFailure("contact", INVALID, f"'{path}' must be an object")
    for key, value in raw.items():
        if key not in CONTACT_LIMITS and not key.endswith("__c"):
            raise ZuoraFailure("contact", UNKNOWN_FIELD, f"Unknown field: {path}.{key}")
        _check_length(f"{path}.{key}", value, CONTACT_LIMITS.get(key, 255), "contact")
    contact = {("postalCode" if k == "zipCode" else k): (v or None) for k, v in raw.items()}
    if not partial:
        for required in ("firstName", "lastName"):
            if not contact.get(required):
                raise ZuoraFailure("contact", MISSING, f"Missing required field: {path}.{required}")
    if contact.get("country"):
        name = country_name(str(contact["country"]))
        if name is None:
            raise ZuoraFailure("contact", INVALID, f"'{path}.country' value is invalid: {contact['country']}")
        contact["country"] = name
    return contact


def check_account(body: Any, tenant_currencies: frozenset[str], payment_terms: frozenset[str] | None,
                  *, partial: bool) -> None:
    """Validation of a create (partial=False) or update body, in Zuora's reason codes."""
    if not isinstance(body, Mapping):
        raise ZuoraFailure("account", INVALID, "The request body must be a JSON object")
    _check_fields(body, UPDATE_FIELDS if partial else CREATE_FIELDS, "account")
    for required in () if partial else ("name", "currency", "billToContact"):
        if body.get(required) in (None, ""):
            raise ZuoraFailure("account", MISSING, f"Missing required field: {required}")
    for name, limit in ACCOUNT_LIMITS.items():
        _check_length(name, body.get(name), limit, "account")
    if not partial and body["currency"] not in tenant_currencies:
        raise ZuoraFailure("account", INVALID, f"'currency' value is invalid: {body['currency']}")
    if body.get("paymentTerm") and payment_terms is not None and body["paymentTerm"] not in payment_terms:
        raise ZuoraFailure("account", INVALID, f"'paymentTerm' value is invalid: {body['paymentTerm']}")
    day = body.get("billCycleDay", 1)
    if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 31:
        raise ZuoraFailure("account", INVALID, "'billCycleDay' value should be between 0 and 31")


def create_account(tenant: Tenant, body: Mapping[str, Any]) -> dict[str, Any]:
    """Store an Active account with its contacts; returns the v1 create answer."""
    bill_to = clean_contact(body["billToContact"], "billToContact", partial=False)
    sold_raw = body.get("soldToContact")
    sold_to = clean_contact(sold_raw, "soldToContact", partial=False) if sold_raw else dict(bill_to)
    account_id, now = tenant.new_id(), tenant.stamp()
    contacts = {}
    for role, contact in (("billTo", bill_to), ("soldTo", sold_to)):
        contact_id = tenant.new_id()
        tenant.contacts[contact_id] = {**contact, "id": contact_id, "accountId": account_id,
                                       "createdDate": now, "updatedDate": now}
        contacts[role] = contact_id
    account = {"id": account_id, "accountNumber": body.get("accountNumber") or tenant.next_number("account"),
               "name": body["name"], "crmId": body.get("crmId"), "currency": body["currency"],
               "paymentTerm": body.get("paymentTerm") or "Due Upon Receipt",
               "billCycleDay": body.get("billCycleDay", 1), "autoPay": bool(body.get("autoPay", False)),
               "notes": body.get("notes"), "balance": 0, "status": "Active", "billToId": contacts["billTo"],
               "soldToId": contacts["soldTo"], "createdDate": now, "updatedDate": now,
               **{k: v for k, v in body.items() if k.endswith("__c")}}
    tenant.accounts[account_id] = account
    return {"accountId": account_id, "accountNumber": account["accountNumber"],
            "billToContactId": contacts["billTo"], "soldToContactId": contacts["soldTo"]}


def update_account(tenant: Tenant, account: dict[str, Any], body: Mapping[str, Any]) -> None:
    now = tenant.stamp()
    for role, key in (("billToContact", "billToId"), ("soldToContact", "soldToId")):
        if role in body:
            changes = clean_contact(body[role], role, partial=True)
            tenant.contacts[account[key]].update({**changes, "updatedDate": now})
    account.update({k: v for k, v in body.items() if k not in ("billToContact", "soldToContact")})
    account["updatedDate"] = now


def find_account(tenant: Tenant, key: str) -> dict[str, Any]:
    account = tenant.account(key)
    if account is None:
        raise ZuoraFailure("account", NOT_FOUND, f"Cannot find entity by key: '{key}'")
    return account


def _v1_contact(contact: Mapping[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in contact.items() if k not in ("accountId", "createdDate", "updatedDate", "postalCode")}
    return {**shown, "zipCode": contact.get("postalCode")}


def v1_account(tenant: Tenant, account: Mapping[str, Any]) -> dict[str, Any]:
    """GET /v1/accounts/{key}: basicInfo, billingAndPayment, metrics and both contacts."""
    basic = {k: account.get(k) for k in ("id", "name", "accountNumber", "notes", "status", "crmId")}
    basic.update({k: v for k, v in account.items() if k.endswith("__c")})
    return {"basicInfo": basic,
            "billingAndPayment": {k: account.get(k) for k in ("billCycleDay", "currency", "paymentTerm", "autoPay")},
            "metrics": {"balance": account.get("balance", 0), "totalInvoiceBalance": account.get("balance", 0),
                        "creditBalance": 0},
            "billToContact": _v1_contact(tenant.contacts[account["billToId"]]),
            "soldToContact": _v1_contact(tenant.contacts[account["soldToId"]])}


def query_account(tenant: Tenant, account: Mapping[str, Any], expand: set[str]) -> dict[str, Any]:
    """The object-query shape: flat account fields, plus billTo/soldTo when expanded."""
    row = dict(account)
    for name, key in (("billTo", "billToId"), ("soldTo", "soldToId")):
        if name.lower() in expand:
            row[name] = {k: v for k, v in tenant.contacts[account[key]].items()}
    return row
