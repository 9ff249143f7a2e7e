"""Changed Salesforce fields of a change event -> canonical field names and values.

Accounts use the account mapping (flat names, validated); orders, order lines, products and prices
use the field tables of mapping/fields.py. Fields concord does not map (system fields such as
LastModifiedDate, and anything else) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from adapters.crm.salesforce.mapping.account import country_from_sf, status_from_sf
from adapters.crm.salesforce.mapping.fields import (
    ACCOUNT_FIELDS,
    ADDRESS_PREFIXES,
    ORDER_FIELDS,
    ORDER_LINE_FIELDS,
    PRICE_FIELDS,
    PRODUCT_FIELDS,
)
from adapters.crm.salesforce.mapping.values import decimal, optional_date, period, text, whole_number
from domain.canonical import validate_account_fields
from domain.errors import ValidationError

_ACCOUNT_BY_SF = {sf: name for name, sf in ACCOUNT_FIELDS.items()}
_TABLES = {"order": ORDER_FIELDS, "order_line": ORDER_LINE_FIELDS, "product": PRODUCT_FIELDS, "price": PRICE_FIELDS}


def _iso_date(field: str, value: Any) -> str | None:
    found = optional_date(field, value)
    return found.isoformat() if found else None


def _flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(field, f"must be true or false, got {value!r}")
    return value


_CONVERT: dict[str, Callable[[str, Any], Any]] = {
    "quantity": whole_number, "term_months": whole_number, "unit_price": decimal, "amount": decimal,
    "effective_date": _iso_date, "end_date": _iso_date, "effective_from": _iso_date, "effective_to": _iso_date,
    "active": _flag, "period": lambda f, v: period(f, v).value,
    "status": lambda f, v: (text(f, v) or "").strip().lower().replace(" ", "_"),
}


def flatten(body: Mapping[str, Any]) -> dict[str, Any]:
    """Nested compound fields (`BillingAddress: {City: …}`) back to Account field names (`BillingCity`)."""
    flat: dict[str, Any] = {}
    for name, value in body.items():
        if name.endswith("Address") and isinstance(value, Mapping):
            prefix = name.removesuffix("Address")
            flat.update({f"{prefix}{part}": part_value for part, part_value in value.items()})
        else:
            flat[name] = value
    return flat


def _account(values: Mapping[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for sf, value in values.items():
        if sf == "Account_Status__c":
            raw["status"] = status_from_sf(value)
        elif sf in _ACCOUNT_BY_SF:
            raw[_ACCOUNT_BY_SF[sf]] = value
    for side, prefix in ADDRESS_PREFIXES.items():
        code, name = f"{prefix}CountryCode", f"{prefix}Country"
        if code in values or name in values:
            # With picklists on, Country and CountryCode change together; the code is the ISO value.
            raw[f"{side}.country"] = country_from_sf(f"{side}.country", values.get(code), values.get(name))
    return validate_account_fields(raw, partial=True)


def canonical_fields(entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    if entity == "account":
        return _account(values)
    table = _TABLES[entity]
    fields: dict[str, Any] = {}
    for sf, value in values.items():
        name = table.get(sf)
        if name is None:
            continue
        convert: Callable[[str, Any], Any] = _CONVERT.get(name, text)
        fields[name] = None if value is None else convert(name, value)
    return fields
