"""Canonical account <-> Stripe customer (pure).

    canonical            Stripe customer
    name, email, phone   name, email, phone          (Stripe limits 256 / 512 / 20 characters)
    bill_to.*            address{line1, city, state, postal_code, country}
    sold_to.*            shipping{name, address{…}}   (shipping.name is the account name; not read back)
    currency, payment_terms, tax_id, status
                         metadata[concord_<field>]    (Stripe has no home for them; see below)
    crm id               metadata[crm_id]

Everything above round-trips. What does not: Stripe's own `customer.currency` is set by Stripe from the
first subscription or invoice and cannot be written, so concord keeps the CRM's currency in metadata and
reads Stripe's only when the metadata is missing. `tax_id` is not a Stripe Tax ID object (those need a
type per country, e.g. eu_vat); `payment_terms` has no customer field (days_until_due lives on
subscriptions and invoices). A street read from Stripe joins line1 and line2 with a newline; concord
writes the whole street to line1. Billing-owned facts come back as BillingAccount.balance (Stripe's
`balance`, minor units; negative is credit) and payment_state ("failed" when Stripe marks the customer
`delinquent`, else "current").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from adapters.billing.stripe.mapping.common import PREFIX, check_id, check_metadata_value, metadata, read
from domain.canonical import ADDRESS_PARTS, BillingAccount, validate_account_fields
from domain.errors import ValidationError
from domain.values import check_currency, minor_unit_exponent

CRM_ID_KEY = "crm_id"
STRIPE_MAX_LEN = {"name": 256, "email": 512, "phone": 20}
METADATA_FIELDS = ("currency", "payment_terms", "tax_id", "status")
_STRIPE_ADDRESS = {"street": "line1", "city": "city", "state": "state", "postal_code": "postal_code",
                   "country": "country"}


def customer_create_params(crm_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Params of POST /v1/customers; fields left out or None are not sent. Name and currency are required
    (the canonical rule for a whole account)."""
    clean = _clean(fields, partial=False)
    params: dict[str, Any] = {key: clean.get(key) for key in STRIPE_MAX_LEN}
    params["address"] = _address(clean, "bill_to")
    params["shipping"] = _shipping(clean)
    params["metadata"] = {CRM_ID_KEY: check_id("crm_id", crm_id),
                          **{PREFIX + name: clean.get(name) for name in METADATA_FIELDS}}
    return params


def customer_update_params(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Params of POST /v1/customers/{id} that apply only `changes`; None clears a field ("" to Stripe).

    Stripe replaces a nested hash (address, shipping) as a whole, so a change to one address part
    resends the merged address read from `current`.
    """
    clean = _clean(changes)
    merged = {**customer_fields(current), **clean}
    params: dict[str, Any] = {key: _unset(clean[key]) for key in STRIPE_MAX_LEN if key in clean}
    if any(key.startswith("bill_to.") for key in clean):
        params["address"] = _address(merged, "bill_to") or ""
    if any(key.startswith("sold_to.") for key in clean):
        params["shipping"] = _shipping(merged) or ""
    meta = {PREFIX + name: _unset(clean[name]) for name in METADATA_FIELDS if name in clean}
    if meta:
        params["metadata"] = meta
    return params


def customer_fields(customer: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical fields a Stripe customer holds (None-valued fields left out), validated."""
    values: dict[str, Any] = {key: read(customer, key, str, "customer", required=False)
                              for key in STRIPE_MAX_LEN}
    values.update(_read_address(read(customer, "address", dict, "customer", required=False), "bill_to"))
    shipping = read(customer, "shipping", dict, "customer", required=False) or {}
    values.update(_read_address(read(shipping, "address", dict, "customer.shipping", required=False),
                                "sold_to"))
    meta = metadata(customer, "customer")
    values.update({name: meta.get(PREFIX + name) for name in METADATA_FIELDS})
    if values.get("currency") is None:
        values["currency"] = read(customer, "currency", str, "customer", required=False)
    clean = validate_account_fields({k: v for k, v in values.items() if v not in (None, "")}, partial=True)
    return {key: value for key, value in clean.items() if value is not None}


def customer_to_account(customer: Mapping[str, Any], version: str = "") -> BillingAccount:
    customer_id = read(customer, "id", str, "customer")
    assert customer_id is not None  # required=True guarantees it; narrows the type
    fields = customer_fields(customer)
    return BillingAccount(
        billing_id=customer_id, account_number=customer_id,
        crm_id=metadata(customer, "customer").get(CRM_ID_KEY), fields=fields,
        balance=_balance(customer, fields.get("currency")),
        payment_state="failed" if read(customer, "delinquent", bool, "customer", required=False) else "current",
        version=version)


def _clean(fields: Mapping[str, Any], *, partial: bool = True) -> dict[str, Any]:
    clean = validate_account_fields(fields, partial=partial)
    for key, limit in STRIPE_MAX_LEN.items():
        value = clean.get(key)
        if value is not None and len(value) > limit:
            raise ValidationError(key, f"is {len(value)} characters long; Stripe allows at most {limit}")
    for name in METADATA_FIELDS:
        if clean.get(name) is not None:
            check_metadata_value(name, clean[name])
    return clean


def _unset(value: Any) -> Any:
    return "" if value is None else value


def _address(values: Mapping[str, Any], prefix: str) -> dict[str, str] | None:
    address = {_STRIPE_ADDRESS[part]: values[f"{prefix}.{part}"] for part in ADDRESS_PARTS
               if values.get(f"{prefix}.{part}") is not None}
    return address or None


def _shipping(values: Mapping[str, Any]) -> dict[str, Any] | None:
    address = _address(values, "sold_to")
    if address is None:
        return None
    if not values.get("name"):
        raise ValidationError("name", "Stripe needs a name with a shipping (sold_to) address")
    return {"name": values["name"], "address": address}


def _read_address(address: Mapping[str, Any] | None, prefix: str) -> dict[str, Any]:
    if not address:
        return {}
    where = f"customer.{prefix}"
    parts = {part: read(address, stripe, str, where, required=False) for part, stripe in _STRIPE_ADDRESS.items()}
    line2 = read(address, "line2", str, where, required=False)
    if line2:
        parts["street"] = f"{parts['street']}\n{line2}" if parts["street"] else line2
    return {f"{prefix}.{part}": value for part, value in parts.items()}


def _balance(customer: Mapping[str, Any], currency: str | None) -> Decimal:
    units = read(customer, "balance", int, "customer", required=False) or 0
    if not units:
        return Decimal(0)
    exponent = minor_unit_exponent(check_currency("currency", currency or ""))
    return Decimal(units).scaleb(-exponent)
