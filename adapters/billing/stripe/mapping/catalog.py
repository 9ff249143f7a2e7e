"""Canonical product and price <-> Stripe product and recurring price (pure).

Product: name, description, active, metadata[sku], metadata[crm_id], and the effective dates in
metadata[concord_effective_from|to] (Stripe products have no validity window). Its id is derived from the
SKU (`product_id_for`), so "does this product exist?" is a GET by id instead of a search, which Stripe
only makes consistent within about a minute (docs.stripe.com/search, "Data freshness").

Price: unit_amount in the currency's minor unit (Money.to_minor_units); an amount finer than the minor
unit goes to unit_amount_decimal (Stripe allows 12 decimal places there), so Money round-trips exactly.
Currency is lower case at Stripe. Periods: month -> interval=month; quarter -> interval=month,
interval_count=3; year -> interval=year. Prices are immutable at Stripe: a new amount is a new price and
the old one is set active=false (see the gateway).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.billing.stripe.mapping.common import PREFIX, SYSTEM, check_id, metadata, read
from application.errors import PermanentError
from domain.canonical import PriceSpec, ProductSnapshot
from domain.errors import ValidationError
from domain.values import BillingPeriod, Money, check_currency, check_text, minor_unit_exponent

_SAFE_SKU = re.compile(r"^[A-Za-z0-9_-]{1,60}$")
_PERIODS = {BillingPeriod.MONTH: ("month", 1), BillingPeriod.QUARTER: ("month", 3),
            BillingPeriod.YEAR: ("year", 1)}
_INTERVALS = {stripe: period for period, stripe in _PERIODS.items()}
MAX_DECIMAL_PLACES = 12  # unit_amount_decimal precision Stripe accepts


def product_id_for(sku: str) -> str:
    """A deterministic Stripe product id for a SKU; two different SKUs never share one."""
    text = check_text("sku", sku, "sku", required=True)
    assert text is not None
    if _SAFE_SKU.match(text):
        return f"concord_sku_{text}"
    return "concord_sha_" + hashlib.sha256(text.encode()).hexdigest()[:40]


def product_params(product: ProductSnapshot, *, create: bool) -> dict[str, Any]:
    """Params of POST /v1/products (create: with the derived id) or POST /v1/products/{id}."""
    def dated(value: date | None) -> str | None:
        return value.isoformat() if value else (None if create else "")

    params: dict[str, Any] = {
        "name": product.name.strip(),
        "description": product.description.strip() if product.description else (None if create else ""),
        "active": product.active,
        "metadata": {"sku": product.sku.strip(), "crm_id": check_id("crm_id", product.crm_id),
                     PREFIX + "effective_from": dated(product.effective_from),
                     PREFIX + "effective_to": dated(product.effective_to)},
    }
    if create:
        params["id"] = product_id_for(product.sku)
    return params


def product_from_stripe(product: Mapping[str, Any]) -> ProductSnapshot:
    """The canonical product a Stripe product holds (prices are separate objects, so none here)."""
    meta = metadata(product, "product")
    return ProductSnapshot(
        crm_id=meta.get("crm_id", ""), sku=meta.get("sku", ""),
        name=read(product, "name", str, "product") or "",
        description=read(product, "description", str, "product", required=False) or None,
        active=bool(read(product, "active", bool, "product")),
        effective_from=_meta_date(meta, "effective_from"), effective_to=_meta_date(meta, "effective_to"))


def price_params(product_id: str, spec: PriceSpec) -> dict[str, Any]:
    """Params of POST /v1/prices: a licensed recurring price of the product."""
    interval, count = _PERIODS[spec.period]
    params: dict[str, Any] = {"product": product_id, "currency": spec.amount.currency.lower(),
                              "recurring": {"interval": interval, "interval_count": count},
                              "metadata": {PREFIX + "price_key": spec.key}}
    params.update(_amount_params(spec.amount))
    return params


def price_to_spec(price: Mapping[str, Any]) -> PriceSpec:
    currency = check_currency("price.currency", read(price, "currency", str, "price"))
    recurring = read(price, "recurring", dict, "price", required=False)
    if recurring is None:
        raise PermanentError("a one-time Stripe price is not a subscription price", system=SYSTEM,
                             code="unsupported_price", field="price.recurring")
    key = (read(recurring, "interval", str, "price.recurring"),
           read(recurring, "interval_count", int, "price.recurring"))
    period = _INTERVALS.get(key)  # type: ignore[arg-type]
    if period is None:
        raise PermanentError(f"Stripe interval {key[0]} x{key[1]} is not a canonical period", system=SYSTEM,
                             code="unsupported_price", field="price.recurring")
    return PriceSpec(Money(_minor_units(price).scaleb(-minor_unit_exponent(currency)), currency), period)


def _amount_params(amount: Money) -> dict[str, Any]:
    scaled = amount.amount.scaleb(minor_unit_exponent(amount.currency))
    if scaled == scaled.to_integral_value():
        return {"unit_amount": amount.to_minor_units()}
    places = -scaled.normalize().as_tuple().exponent  # type: ignore[operator]
    if places > MAX_DECIMAL_PLACES:
        raise ValidationError("amount", f"{amount.amount} {amount.currency} needs {places} decimals of the "
                                        f"minor unit; Stripe's unit_amount_decimal holds {MAX_DECIMAL_PLACES}")
    return {"unit_amount_decimal": format(scaled.normalize(), "f")}


def _minor_units(price: Mapping[str, Any]) -> Decimal:
    text = read(price, "unit_amount_decimal", str, "price", required=False)
    if text is not None:
        try:
            return Decimal(text)
        except InvalidOperation as exc:
            raise PermanentError(f"Stripe unit_amount_decimal {text!r} is not a number", system=SYSTEM,
                                 code="unexpected_shape", field="price.unit_amount_decimal") from exc
    return Decimal(read(price, "unit_amount", int, "price") or 0)


def _meta_date(meta: Mapping[str, str], name: str) -> date | None:
    text = meta.get(PREFIX + name)
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ValidationError(f"product.metadata.{PREFIX}{name}", f"{text!r} is not an ISO date") from exc
