"""Canonical products and prices <-> Zuora's catalog (CRUD /v1/object/*, GET /v1/catalog/product/{key}).

Rules:
- A product keeps its SKU (Zuora: at most 50 characters, refused if longer); name and description are
  cut to Zuora's 100 and 500 characters. Open effective dates are written as 1970-01-01 and
  2099-12-31 (Zuora needs both) and read back as open. An inactive product ends `today`.
- A price is one product rate plan holding one recurring Per Unit charge, priced in one currency:
  one plan per (currency, billing period, version). A price change is a NEW plan (the next version)
  and the old one is retired by its EffectiveEndDate. A concord price id is
  "<productRatePlanId>:<productRatePlanChargeId>", because an order needs both.
- Writes use the CRUD shapes (PascalCase, ProductRatePlanChargeTierData); reads the catalog shape
  (camelCase, `pricing: [{currency, price}]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from adapters.billing.zuora.mapping.common import (
    PERIOD_FROM_ZUORA,
    PERIOD_TO_ZUORA,
    identifier,
    iso_date,
    json_price,
    parse_date,
    parse_decimal,
    truncate,
)
from domain.canonical import PriceSpec, ProductSnapshot
from domain.errors import ValidationError
from domain.values import BillingPeriod, Money

OPEN_START = date(1970, 1, 1)
OPEN_END = date(2099, 12, 31)
UNIT = "Each"


def product_payload(product: ProductSnapshot, today: date) -> dict[str, Any]:
    """Body of POST /v1/object/product (and PUT /v1/object/product/{id})."""
    end = product.effective_to or (OPEN_END if product.active else today)
    payload: dict[str, Any] = {
        "Name": truncate(product.name, "productName"),
        "SKU": identifier("sku", product.sku, "sku"),
        "EffectiveStartDate": iso_date(product.effective_from or OPEN_START),
        "EffectiveEndDate": iso_date(end),
    }
    if product.description:
        payload["Description"] = truncate(product.description, "productDescription")
    return payload


def product_changes(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The CRUD fields whose catalog value differs from the wanted body (empty: nothing to write)."""
    names = {"Name": "name", "SKU": "sku", "Description": "description",
             "EffectiveStartDate": "effectiveStartDate", "EffectiveEndDate": "effectiveEndDate"}
    return {crud: value for crud, value in wanted.items() if str(current.get(names[crud]) or "") != str(value)}


def plan_name(price: PriceSpec, version: int) -> str:
    return truncate(f"{price.amount.currency} {price.period.value} v{version}", "ratePlanName") or ""


def rate_plan_payload(product_id: str, price: PriceSpec, version: int) -> dict[str, Any]:
    """Body of POST /v1/object/product-rate-plan: the plan that holds one price version.

    It is open from 1970: a backdated CRM order may still subscribe to it; retiring it sets its end.
    """
    return {"ProductId": identifier("product_id", product_id, "zuoraId"), "Name": plan_name(price, version),
            "EffectiveStartDate": iso_date(OPEN_START), "EffectiveEndDate": iso_date(OPEN_END)}


def charge_payload(plan_id: str, price: PriceSpec, sku: str) -> dict[str, Any]:
    """Body of POST /v1/object/product-rate-plan-charge: one recurring Per Unit charge."""
    return {
        "ProductRatePlanId": plan_id,
        "Name": truncate(f"{sku} per {price.period.value}", "chargeName"),
        "ChargeModel": "Per Unit Pricing",
        "ChargeType": "Recurring",
        "BillingPeriod": PERIOD_TO_ZUORA[price.period],
        "BillCycleType": "DefaultFromCustomer",
        "TriggerEvent": "ContractEffective",
        "UOM": UNIT,
        "DefaultQuantity": 1,
        "ProductRatePlanChargeTierData": {"ProductRatePlanChargeTier": [
            {"Currency": price.amount.currency, "Price": json_price("price.amount", price.amount.amount)}]},
    }


def retire_payload(today: date) -> dict[str, Any]:
    """Body of PUT /v1/object/product-rate-plan/{id}: the old price version stops being sold."""
    return {"EffectiveEndDate": iso_date(today)}


def price_id(plan_id: str, charge_id: str) -> str:
    return f"{plan_id}:{charge_id}"


def split_price_id(value: str) -> tuple[str, str]:
    plan, sep, charge = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not plan or not charge:
        raise ValidationError("price_id", f"{value!r} is not a Zuora price id (<ratePlanId>:<chargeId>)")
    return plan, charge


def plan_prices(plan: Mapping[str, Any]) -> list[tuple[str, PriceSpec]]:
    """(charge id, price) for each recurring charge of a catalog plan, one per currency it prices."""
    found = []
    for charge in plan.get("productRatePlanCharges") or []:
        period = PERIOD_FROM_ZUORA.get(str(charge.get("billingPeriod")))
        if period is None:
            continue  # a period concord does not sell (Week, Semi-Annual, ...)
        for entry in charge.get("pricing") or []:
            amount = parse_decimal("pricing.price", entry.get("price"))
            found.append((str(charge.get("id")), PriceSpec(Money(amount, str(entry.get("currency"))), period)))
    return found


def next_version(product: Mapping[str, Any], currency: str, period: BillingPeriod) -> int:
    """1 + the number of plans already pricing this (currency, period): the new price's version."""
    count = sum(1 for plan in product.get("productRatePlans") or []
                if any(p.amount.currency == currency and p.period == period for _, p in plan_prices(plan)))
    return count + 1


def orphan_plan(product: Mapping[str, Any], price: PriceSpec) -> str | None:
    """A plan named for this price that holds no charge: left by a crash between the two writes."""
    for plan in product.get("productRatePlans") or []:
        prefix = f"{price.amount.currency} {price.period.value} v"
        if not plan.get("productRatePlanCharges") and str(plan.get("name", "")).startswith(prefix):
            return str(plan.get("id"))
    return None


def is_open_end(value: Any) -> bool:
    return parse_date("effectiveEndDate", value) in (None, OPEN_END)
