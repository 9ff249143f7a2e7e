"""Order with its OrderItems <-> OrderSnapshot. An order's lines come from a SOQL query of OrderItem
with `Product2.ProductCode` (the line's sku)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
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
    whole_number,
)
from domain.canonical import OrderLine, OrderSnapshot
from domain.errors import ValidationError
from domain.values import Money, check_currency, check_date


def _months_between(start: date, end: date) -> int:
    """Whole months from the effective date to the end date, inclusive of the end day (Salesforce's EndDate)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months + (1 if end.day >= start.day else 0)


def term_months(record: Mapping[str, Any], effective: date) -> int:
    if record.get("Term_Months__c") not in (None, ""):
        return whole_number("term_months", record["Term_Months__c"])
    end = optional_date("term_months", record.get("EndDate"))
    if end is None:
        raise ValidationError("term_months", "Salesforce fields Term_Months__c and EndDate are both empty")
    return _months_between(effective, end)


def line_from_sf(item: Mapping[str, Any], currency: str) -> OrderLine:
    line_id = text("lines.line_id", need(item, "Id", "lines.line_id")) or ""
    product = item.get("Product2")
    sku = product.get("ProductCode") if isinstance(product, Mapping) else None
    if not sku:
        raise ValidationError(f"lines[{line_id}].sku", "the order product's Product2.ProductCode is empty")
    quantity = whole_number(f"lines[{line_id}].quantity", need(item, "Quantity", f"lines[{line_id}].quantity"))
    price = decimal(f"lines[{line_id}].unit_price", need(item, "UnitPrice", f"lines[{line_id}].unit_price"))
    return OrderLine(line_id=line_id, sku=text(f"lines[{line_id}].sku", sku) or "", quantity=quantity,
                     unit_price=Money(price, currency),
                     period=period(f"lines[{line_id}].period", item.get("Billing_Period__c")))


def order_from_sf(record: Mapping[str, Any], items: Sequence[Mapping[str, Any]]) -> OrderSnapshot:
    currency = check_currency("currency", need(record, "CurrencyIsoCode", "currency"))
    effective = check_date("effective_date", need(record, "EffectiveDate", "effective_date"))
    lines = tuple(sorted((line_from_sf(item, currency) for item in items), key=lambda line: line.line_id))
    status = (text("status", need(record, "Status", "status")) or "").strip().lower().replace(" ", "_")
    modified = latest(timestamp("modified_at", record.get("LastModifiedDate")),
                      *(timestamp("modified_at", item.get("LastModifiedDate")) for item in items))
    return OrderSnapshot(crm_id=text("crm_id", need(record, "Id", "crm_id")) or "",
                         account_crm_id=text("account_crm_id", need(record, "AccountId", "account_crm_id")) or "",
                         status=status, effective_date=effective, term_months=term_months(record, effective),
                         currency=currency, lines=lines, modified_at=modified)


def order_to_sf(snapshot: OrderSnapshot) -> dict[str, Any]:
    """The Order fields of a snapshot (for loads and seeding); Status is Salesforce's picklist label."""
    return {"AccountId": snapshot.account_crm_id, "Status": snapshot.status.replace("_", " ").title(),
            "EffectiveDate": snapshot.effective_date.isoformat(), "Term_Months__c": snapshot.term_months,
            "CurrencyIsoCode": snapshot.currency}


def line_to_sf(line: OrderLine) -> dict[str, Any]:
    """An OrderItem's own fields (the caller adds OrderId and the PricebookEntryId of the line's sku)."""
    return {"Quantity": line.quantity, "Billing_Period__c": line.period.value.title(),
            "UnitPrice": json_number(f"lines[{line.line_id}].unit_price", line.unit_price.amount,
                                     line.unit_price.currency)}
