"""The product catalog: CRUD writes (/v1/object/product, -rate-plan, -rate-plan-charge) in PascalCase
with CRUD failures, and catalog reads (GET /v1/catalog/product/{key}, /v1/catalog/products) in
camelCase with `pricing: [{currency, price}]`.

Only recurring Flat Fee and Per Unit charges billed by Month, Quarter or Annual are modelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from infrastructure.sandboxes.zuora.errors import CrudFailure
from infrastructure.sandboxes.zuora.state import Tenant

MODELS = {"Flat Fee Pricing": "FlatFee", "Per Unit Pricing": "PerUnit"}
PERIODS = frozenset({"Month", "Quarter", "Annual"})
LIMITS = {"Name": 100, "SKU": 50, "Description": 500, "UOM": 25}


def _require(body: Any, *names: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise CrudFailure("INVALID_VALUE", "The request body must be a JSON object")
    for name in names:
        if body.get(name) in (None, ""):
            raise CrudFailure("MISSING_REQUIRED_VALUE", f"Missing required field: {name}")
    for name, limit in LIMITS.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise CrudFailure("INVALID_VALUE", f"'{name}' must be text of at most {limit} characters")
    return body


def _dates(body: Mapping[str, Any], target: dict[str, Any]) -> None:
    for name in ("EffectiveStartDate", "EffectiveEndDate"):
        if name in body:
            target[name] = str(body[name])[:10]
    if target.get("EffectiveStartDate", "") > target.get("EffectiveEndDate", "9999"):
        raise CrudFailure("INVALID_VALUE", "EffectiveEndDate is before EffectiveStartDate")


def create_product(tenant: Tenant, body: Any) -> str:
    clean = _require(body, "Name", "EffectiveStartDate", "EffectiveEndDate")
    sku = clean.get("SKU") or tenant.next_number("sku")
    if tenant.product(sku) is not None:
        raise CrudFailure("DUPLICATE_VALUE", f"SKU {sku} is already used by another product")
    product_id, now = tenant.new_id(), tenant.stamp()
    product = {"Id": product_id, "Name": clean["Name"], "SKU": sku, "Description": clean.get("Description"),
               "CreatedDate": now, "UpdatedDate": now}
    _dates(clean, product)
    tenant.products[product_id] = product
    return product_id


def update_product(tenant: Tenant, product_id: str, body: Any) -> str:
    product = tenant.products.get(product_id)
    if product is None:
        raise CrudFailure("INVALID_ID", f"invalid product id {product_id}")
    clean = _require(body)
    if clean.get("SKU") and tenant.product(clean["SKU"]) not in (None, product):
        raise CrudFailure("DUPLICATE_VALUE", f"SKU {clean['SKU']} is already used by another product")
    changed = dict(product)
    changed.update({k: clean[k] for k in ("Name", "SKU", "Description") if k in clean})
    _dates(clean, changed)
    product.update(changed, UpdatedDate=tenant.stamp())
    return product_id


def create_plan(tenant: Tenant, body: Any) -> str:
    clean = _require(body, "ProductId", "Name")
    product = tenant.products.get(str(clean["ProductId"]))
    if product is None:
        raise CrudFailure("INVALID_VALUE", f"invalid ProductId {clean['ProductId']}")
    plan_id = tenant.new_id()
    plan = {"Id": plan_id, "ProductId": product["Id"], "Name": clean["Name"],
            "Description": clean.get("Description"), "EffectiveStartDate": product["EffectiveStartDate"],
            "EffectiveEndDate": product["EffectiveEndDate"], "UpdatedDate": tenant.stamp()}
    _dates(clean, plan)
    tenant.plans[plan_id] = plan
    return plan_id


def update_plan(tenant: Tenant, plan_id: str, body: Any) -> str:
    plan = tenant.plans.get(plan_id)
    if plan is None:
        raise CrudFailure("INVALID_ID", f"invalid product rate plan id {plan_id}")
    clean = _require(body)
    changed = {**plan, **{k: clean[k] for k in ("Name", "Description") if k in clean}}
    _dates(clean, changed)
    plan.update(changed, UpdatedDate=tenant.stamp())
    return plan_id


def _tiers(body: Mapping[str, Any], currencies: frozenset[str]) -> list[dict[str, Any]]:
    tiers = ((body.get("ProductRatePlanChargeTierData") or {}).get("ProductRatePlanChargeTier") or [])
    if not tiers:
        raise CrudFailure("MISSING_REQUIRED_VALUE", "Missing required field: ProductRatePlanChargeTierData")
    prices = []
    for tier in tiers:
        currency, price = tier.get("Currency"), tier.get("Price")
        if currency not in currencies:
            raise CrudFailure("INVALID_VALUE", f"'Currency' {currency} is not enabled in this tenant")
        if not isinstance(price, int | Decimal) or isinstance(price, bool) or price < 0:
            raise CrudFailure("INVALID_VALUE", f"'Price' {price!r} must be a non-negative number")
        prices.append({"currency": currency, "price": Decimal(price)})
    if len({p["currency"] for p in prices}) != len(prices):
        raise CrudFailure("INVALID_VALUE", "one tier per currency for a flat or per-unit charge")
    return prices


def create_charge(tenant: Tenant, body: Any, currencies: frozenset[str], units: frozenset[str]) -> str:
    clean = _require(body, "ProductRatePlanId", "Name", "ChargeModel", "ChargeType", "BillCycleType",
                     "TriggerEvent")
    plan = tenant.plans.get(str(clean["ProductRatePlanId"]))
    if plan is None:
        raise CrudFailure("INVALID_VALUE", f"invalid ProductRatePlanId {clean['ProductRatePlanId']}")
    model = MODELS.get(clean["ChargeModel"])
    if model is None or clean["ChargeType"] != "Recurring" or clean.get("BillingPeriod") not in PERIODS:
        raise CrudFailure("INVALID_VALUE", "only Recurring Flat Fee / Per Unit charges by Month, Quarter or "
                                           "Annual are supported by this sandbox")
    if model == "PerUnit" and clean.get("UOM") not in units:
        raise CrudFailure("INVALID_VALUE", f"'UOM' {clean.get('UOM')!r} is not a unit of measure of this tenant")
    charge_id = tenant.new_id()
    tenant.charges[charge_id] = {
        "id": charge_id, "productRatePlanId": plan["Id"], "name": clean["Name"], "type": "Recurring",
        "model": model, "uom": clean.get("UOM"), "billingPeriod": clean["BillingPeriod"],
        "defaultQuantity": clean.get("DefaultQuantity", 1), "pricing": _tiers(clean, currencies)}
    plan["UpdatedDate"] = tenant.stamp()
    return charge_id


def catalog_product(tenant: Tenant, product: Mapping[str, Any]) -> dict[str, Any]:
    """GET /v1/catalog/product/{key}: the product with its plans and their charges."""
    today = tenant.today()
    plans = []
    for plan in (p for p in tenant.plans.values() if p["ProductId"] == product["Id"]):
        charges = [dict(c) for c in tenant.charges.values() if c["productRatePlanId"] == plan["Id"]]
        plans.append({"id": plan["Id"], "name": plan["Name"], "description": plan.get("Description"),
                      "status": "Active" if plan["EffectiveEndDate"] > today else "Expired",
                      "effectiveStartDate": plan["EffectiveStartDate"], "effectiveEndDate": plan["EffectiveEndDate"],
                      "productRatePlanCharges": charges})
    return {"id": product["Id"], "sku": product["SKU"], "name": product["Name"],
            "description": product.get("Description"), "effectiveStartDate": product["EffectiveStartDate"],
            "effectiveEndDate": product["EffectiveEndDate"], "productRatePlans": plans}
