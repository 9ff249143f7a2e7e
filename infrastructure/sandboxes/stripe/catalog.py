"""Products and prices. Prices are immutable but for active, metadata, nickname, lookup_key and
tax_behavior: any other parameter on update (unit_amount …) is an unknown parameter, as at Stripe."""

from __future__ import annotations

import copy
import functools
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.stripe import params as p
from infrastructure.sandboxes.stripe.errors import InvalidParams, StripeError
from infrastructure.sandboxes.stripe.store import Obj

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

PRODUCT_UPDATE = ("name", "description", "active", "metadata", "expand")
PRICE_UPDATE = ("active", "metadata", "nickname", "lookup_key", "tax_behavior", "expand")
PRICE_CREATE = (*PRICE_UPDATE, "currency", "product", "unit_amount", "unit_amount_decimal", "recurring")
MAX_INTERVAL_COUNT = {"day": 365, "week": 52, "month": 12, "year": 1}  # at most one year between bills
_CUSTOM_ID = re.compile(r"^[A-Za-z0-9_\-.:]{1,255}$")


def register(api: StripeSandbox) -> None:
    _routes(api, "product", "products", _create_product, _update_product, ("active", "description", "name"))
    _routes(api, "price", "prices", _create_price, _update_price,
            ("active", "currency", "lookup_key", "product", "type"))


def _create_product(api: StripeSandbox, request: Request) -> Response:
    form = api.form(request)
    p.only(form, ("id", *PRODUCT_UPDATE))
    p.text(form, "name", required=True)
    custom = p.text(form, "id")
    if custom is not None and not _CUSTOM_ID.match(custom):
        raise InvalidParams(f"Invalid id: {custom}", param="id")
    if custom and api.store.exists("product", custom):
        raise StripeError(400, "Product already exists.", code="resource_already_exists", param="id")
    product = api.store.new("prod", "product", custom) | _product_defaults()
    return api.ok(api.store.save(_product(product, form, api.store.now())))


def _update_product(api: StripeSandbox, request: Request) -> Response:
    product = copy.deepcopy(api.store.get("product", request.params["id"]))  # saved only if all params pass
    form = api.form(request)
    p.only(form, PRODUCT_UPDATE)
    return api.ok(api.store.save(_product(product, form, api.store.now())))


def _create_price(api: StripeSandbox, request: Request) -> Response:
    form = api.form(request)
    p.only(form, PRICE_CREATE)
    product_id = p.text(form, "product", required=True) or ""
    if not api.store.exists("product", product_id):
        raise StripeError(400, f"No such product: '{product_id}'", code="resource_missing", param="product")
    price = api.store.new("price", "price") | _price_defaults(product_id)
    price.update(_amount(form), currency=_currency(form), recurring=_recurring(form))
    price["type"] = "recurring" if price["recurring"] else "one_time"
    return api.ok(api.store.save(_price_details(price, form)))


def _update_price(api: StripeSandbox, request: Request) -> Response:
    price = copy.deepcopy(api.store.get("price", request.params["id"]))  # saved only if all params pass
    form = api.form(request)
    p.only(form, PRICE_UPDATE)
    return api.ok(api.store.save(_price_details(price, form)))


def _routes(api: StripeSandbox, kind: str, plural: str, create: Any, update: Any, filters: tuple[str, ...]) -> None:
    def listing(request: Request) -> Response:
        query = api.form(request)
        p.only(query, ("limit", "starting_after", "ending_before", "expand", *filters))
        wanted = {name: query[name] for name in filters if name in query}
        items = api.store.newest_first(kind, lambda obj: all(_text(obj.get(k)) == v for k, v in wanted.items()))
        return api.ok(api.store.list_page(kind, f"/v1/{plural}", query, items))

    def search(request: Request) -> Response:
        query = api.form(request)
        p.only(query, ("query", "limit", "page", "expand"))
        return api.ok(api.store.search_page(f"/v1/{plural}/search", query, api.store.newest_first(kind), filters))

    def retrieve(request: Request) -> Response:
        return api.ok(api.store.get(kind, request.params["id"]))

    api.route("POST", f"/v1/{plural}", functools.partial(create, api))
    api.route("GET", f"/v1/{plural}", listing)
    api.route("GET", f"/v1/{plural}/search", search)
    api.route("GET", rf"/v1/{plural}/(?P<id>[^/]+)", retrieve)
    api.route("POST", rf"/v1/{plural}/(?P<id>[^/]+)", functools.partial(update, api))


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _product_defaults() -> Obj:
    return {"active": True, "default_price": None, "description": None, "images": [], "marketing_features": [],
            "name": None, "package_dimensions": None, "shippable": None, "statement_descriptor": None,
            "tax_code": None, "type": "service", "unit_label": None, "updated": None, "url": None}


def _product(product: Obj, form: dict[str, Any], now: int) -> Obj:
    if "name" in form:
        product["name"] = p.text(form, "name", required=True)
    if "description" in form:
        product["description"] = p.text(form, "description", max_len=40000) or None
    if "active" in form:
        product["active"] = p.boolean(form, "active")
    product["metadata"] = p.metadata(product["metadata"], form.get("metadata"))
    product["updated"] = now
    return product


def _price_defaults(product_id: str) -> Obj:
    return {"active": True, "billing_scheme": "per_unit", "custom_unit_amount": None, "lookup_key": None,
            "nickname": None, "product": product_id, "tax_behavior": "unspecified", "tiers_mode": None,
            "transform_quantity": None}


def _price_details(price: Obj, form: dict[str, Any]) -> Obj:
    for name in ("nickname", "lookup_key"):
        if name in form:
            price[name] = p.text(form, name) or None
    if "active" in form:
        price["active"] = p.boolean(form, "active")
    if "tax_behavior" in form:
        price["tax_behavior"] = p.choice(form, "tax_behavior", ("exclusive", "inclusive", "unspecified"))
    price["metadata"] = p.metadata(price["metadata"], form.get("metadata"))
    return price


def _currency(form: dict[str, Any]) -> str:
    currency = (p.text(form, "currency", required=True) or "").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise InvalidParams(f"Invalid currency: {currency}.", param="currency")
    return currency


def _amount(form: dict[str, Any]) -> dict[str, Any]:
    if "unit_amount" in form and "unit_amount_decimal" in form:
        raise InvalidParams("You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                            param="unit_amount")
    if "unit_amount" in form:
        units = p.integer(form, "unit_amount", minimum=0, required=True)
        return {"unit_amount": units, "unit_amount_decimal": str(units)}
    raw = p.text(form, "unit_amount_decimal", required=True, label="unit_amount") or ""
    try:
        exact = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidParams(f"Invalid decimal: {raw}", param="unit_amount_decimal") from exc
    places = -exact.normalize().as_tuple().exponent  # type: ignore[operator]
    if not exact.is_finite() or exact < 0 or places > 12:
        raise InvalidParams(f"Invalid decimal: {raw}", param="unit_amount_decimal")
    integral = exact == exact.to_integral_value()
    return {"unit_amount": int(exact) if integral else None, "unit_amount_decimal": format(exact.normalize(), "f")}


def _recurring(form: dict[str, Any]) -> Obj | None:
    value = p.hash_(form, "recurring")
    if not value:
        return None
    assert isinstance(value, dict)
    p.only(value, ("interval", "interval_count", "usage_type"), "recurring")
    interval = p.choice(value, "interval", MAX_INTERVAL_COUNT, required=True, label="recurring[interval]") or ""
    count = p.integer(value, "interval_count", minimum=1, label="recurring[interval_count]") or 1
    if count > MAX_INTERVAL_COUNT[interval]:
        raise InvalidParams("The maximum billing interval is one year (1 year, 12 months, or 52 weeks).",
                            param="recurring[interval_count]")
    usage = p.choice(value, "usage_type", ("licensed", "metered"), label="recurring[usage_type]") or "licensed"
    return {"interval": interval, "interval_count": count, "meter": None, "trial_period_days": None,
            "usage_type": usage}
