"""Product2 with its PricebookEntries <-> ProductSnapshot. One active entry is one price; the entry's
Billing_Period__c (empty = monthly) and CurrencyIsoCode make the price's key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.crm.salesforce.mapping.values import (
    decimal,
    json_number,
    latest,
    need,
    optional_date,
    period,
    text,
    timestamp,
)
from domain.canonical import PriceSpec, ProductSnapshot
from domain.errors import ValidationError
from domain.values import Money, check_currency


def price_from_sf(entry: Mapping[str, Any]) -> PriceSpec:
    entry_id = entry.get("Id", "?")
    currency = check_currency(f"prices[{entry_id}].currency",
                              need(entry, "CurrencyIsoCode", f"prices[{entry_id}].currency"))
    amount = decimal(f"prices[{entry_id}].amount", need(entry, "UnitPrice", f"prices[{entry_id}].amount"))
    return PriceSpec(Money(amount, currency), period(f"prices[{entry_id}].period", entry.get("Billing_Period__c")))


def prices_from_sf(entries: Sequence[Mapping[str, Any]]) -> tuple[PriceSpec, ...]:
    """Active entries as prices, sorted by key; the same key twice must agree on the amount."""
    found: dict[str, PriceSpec] = {}
    for entry in entries:
        if entry.get("IsActive") is False:
            continue
        price = price_from_sf(entry)
        known = found.get(price.key)
        if known is not None and known.amount != price.amount:
            raise ValidationError("prices", f"two active prices for {price.key}: {known.amount.amount} and "
                                  f"{price.amount.amount}")
        found[price.key] = price
    return tuple(found[key] for key in sorted(found))


def product_from_sf(record: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> ProductSnapshot:
    active = record.get("IsActive")
    if active is not None and not isinstance(active, bool):
        raise ValidationError("active", f"must be true or false, got {active!r}")
    modified = latest(timestamp("modified_at", record.get("LastModifiedDate")),
                      *(timestamp("modified_at", entry.get("LastModifiedDate")) for entry in entries))
    return ProductSnapshot(crm_id=text("crm_id", need(record, "Id", "crm_id")) or "",
                           sku=text("sku", need(record, "ProductCode", "sku")) or "",
                           name=text("name", need(record, "Name", "name")) or "",
                           description=text("description", record.get("Description")) or None,
                           active=bool(active), effective_from=optional_date("effective_from",
                                                                             record.get("Effective_From__c")),
                           effective_to=optional_date("effective_to", record.get("Effective_To__c")),
                           prices=prices_from_sf(entries), modified_at=modified)


def product_to_sf(snapshot: ProductSnapshot) -> dict[str, Any]:
    return {"Name": snapshot.name, "ProductCode": snapshot.sku, "Description": snapshot.description,
            "IsActive": snapshot.active,
            "Effective_From__c": snapshot.effective_from.isoformat() if snapshot.effective_from else None,
            "Effective_To__c": snapshot.effective_to.isoformat() if snapshot.effective_to else None}


def price_to_sf(price: PriceSpec) -> dict[str, Any]:
    """A PricebookEntry's own fields (the caller adds Product2Id and Pricebook2Id)."""
    return {"UnitPrice": json_number("amount", price.amount.amount, price.amount.currency),
            "CurrencyIsoCode": price.amount.currency, "Billing_Period__c": price.period.value.title(),
            "IsActive": True}
