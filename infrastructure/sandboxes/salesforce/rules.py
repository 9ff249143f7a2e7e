"""Object-specific rules of the standard objects concord touches (price books, orders, order products).

Only the rules that change what an integration sees: defaults the API applies, cross-record
integrity errors, and uniqueness of a price per product, price book and currency.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.salesforce.schema import SfError

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.store import Org

Record = dict[str, Any]
CORPORATE_CURRENCY = "USD"


class _Rules:
    def defaults(self, obj: str, org: Org, clean: Record) -> Record:
        """Values the API fills in on create when the request leaves them out."""
        values: Record = {}
        if "CurrencyIsoCode" in org.schema(obj):
            values["CurrencyIsoCode"] = CORPORATE_CURRENCY
        if obj in ("Product2", "PricebookEntry", "Pricebook2"):
            values["IsActive"] = False  # the API default (the UI ticks it for you)
        if obj == "OrderItem" and clean.get("PricebookEntryId"):
            entry = org.get("PricebookEntry", clean["PricebookEntryId"])
            order = org.get("Order", clean["OrderId"])
            values.update({"Product2Id": entry["Product2Id"], "CurrencyIsoCode": order["CurrencyIsoCode"]})
        return values

    def check(self, obj: str, org: Org, clean: Record, existing: Record | None) -> None:
        if obj == "OrderItem" and existing is None:
            self._check_order_item(org, clean)
        if obj == "PricebookEntry" and existing is None:
            self._check_price_entry(org, clean)

    def before_delete(self, obj: str, org: Org, record: Record) -> None:
        if obj == "Pricebook2" and record.get("IsStandard"):
            raise SfError("DELETE_FAILED", "You can't delete the standard price book.")
        if obj == "Account" and any(o["AccountId"] == record["Id"] for o in org.records["Order"].values()):
            raise SfError("DELETE_FAILED", "Your attempt to delete this account could not be completed because "
                          "it is associated with the following orders.")

    @staticmethod
    def _check_order_item(org: Org, clean: Record) -> None:
        entry = org.get("PricebookEntry", clean["PricebookEntryId"])
        order = org.get("Order", clean["OrderId"])
        if order["Pricebook2Id"] is None:
            order["Pricebook2Id"] = entry["Pricebook2Id"]  # the first product picks the order's price book
        elif order["Pricebook2Id"] != entry["Pricebook2Id"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook "
                          "entry is in a different pricebook than the one assigned to the order)",
                          ["PricebookEntryId"])
        if entry["CurrencyIsoCode"] != order["CurrencyIsoCode"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook "
                          "entry currency code does not match order currency code)", ["PricebookEntryId"])
        if not entry["IsActive"]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: PricebookEntryId (pricebook "
                          "entry is inactive)", ["PricebookEntryId"])

    @staticmethod
    def _check_price_entry(org: Org, clean: Record) -> None:
        currency = clean.get("CurrencyIsoCode") or CORPORATE_CURRENCY
        same = [e for e in org.records["PricebookEntry"].values()
                if e["Product2Id"] == clean["Product2Id"] and e["CurrencyIsoCode"] == currency]
        if any(e["Pricebook2Id"] == clean["Pricebook2Id"] for e in same):
            raise SfError("DUPLICATE_VALUE", "This price definition already exists in this price book", [])
        if clean["Pricebook2Id"] != org.standard_pricebook_id and not any(
                e["Pricebook2Id"] == org.standard_pricebook_id for e in same):
            raise SfError("STANDARD_PRICE_NOT_DEFINED", "Before creating a custom price, create a standard price.",
                          [])


RULES = _Rules()
