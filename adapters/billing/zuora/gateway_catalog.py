"""The catalog half of ZuoraBilling: products, and prices as versioned rate plans (mapping/catalog.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from urllib.parse import quote

from adapters.billing.zuora import mapping
from adapters.billing.zuora.client import ZuoraClient
from application.errors import NotFound, PermanentError
from domain.canonical import BillingProductRef, PriceSpec, ProductSnapshot
from domain.errors import ValidationError


@contextmanager
def as_permanent() -> Iterator[None]:
    """Mapping refusals become PermanentError naming the field: adapters raise only application errors."""
    try:
        yield
    except ValidationError as exc:
        raise PermanentError(f"zuora mapping: {exc}", system="zuora", code="VALIDATION", field=exc.field) from exc


def seg(key: str) -> str:
    return quote(key, safe="")


class CatalogOps:
    client: ZuoraClient
    _today: Callable[[], date]

    def _catalog_product(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.call("GET", f"/v1/catalog/product/{seg(key)}")
        except NotFound:
            return None

    def ensure_product(self, product: ProductSnapshot, idempotency_key: str) -> BillingProductRef:
        with as_permanent():
            wanted = mapping.product_payload(product, self._today())
        current = self._catalog_product(product.sku)
        if current is None:
            body = self.client.call("POST", "/v1/object/product", json=wanted, idempotency_key=idempotency_key)
            return BillingProductRef(product_id=str(body["Id"]))
        changes = mapping.product_changes(current, wanted)
        if changes:
            self.client.call("PUT", f"/v1/object/product/{seg(current['id'])}", json=changes)
        return BillingProductRef(product_id=str(current["id"]))

    def create_price(self, product: BillingProductRef, price: PriceSpec, idempotency_key: str) -> str:
        catalog = self._catalog_product(product.product_id)
        if catalog is None:
            raise NotFound(f"zuora has no product {product.product_id}", system="zuora", code="404")
        plan_id = mapping.orphan_plan(catalog, price)
        with as_permanent():
            if plan_id is None:
                version = mapping.next_version(catalog, price.amount.currency, price.period)
                plan_body = mapping.rate_plan_payload(product.product_id, price, version)
                plan = self.client.call("POST", "/v1/object/product-rate-plan", json=plan_body,
                                        idempotency_key=f"{idempotency_key}:plan")
                plan_id = str(plan["Id"])
            charge_body = mapping.charge_payload(plan_id, price, str(catalog.get("sku", "")))
        charge = self.client.call("POST", "/v1/object/product-rate-plan-charge", json=charge_body,
                                  idempotency_key=f"{idempotency_key}:charge")
        return mapping.price_id(plan_id, str(charge["Id"]))

    def retire_price(self, product: BillingProductRef, price_id: str, idempotency_key: str) -> None:
        with as_permanent():
            plan_id, _ = mapping.split_price_id(price_id)
        self.client.call("PUT", f"/v1/object/product-rate-plan/{seg(plan_id)}",
                         json=mapping.retire_payload(self._today()))
