"""The catalog at Stripe: products under a SKU-derived id, immutable prices."""

from __future__ import annotations

from typing import Any

from adapters.billing.stripe import mapping
from adapters.billing.stripe._accounts import _data
from adapters.billing.stripe._base import StripeGatewayBase, mapping_errors, subkey
from adapters.billing.stripe.mapping.common import read
from application.errors import NotFound, PermanentError
from domain.canonical import BillingProductRef, PriceSpec, ProductSnapshot


class CatalogOps(StripeGatewayBase):
    def ensure_product(self, product: ProductSnapshot, idempotency_key: str) -> BillingProductRef:
        """GET by the derived id, then create or update: no search, so no freshness gap."""
        with mapping_errors():
            product_id = mapping.product_id_for(product.sku)
            create, update = (mapping.product_params(product, create=True),
                              mapping.product_params(product, create=False))
        try:
            current = self.http.get(f"/v1/products/{product_id}").body
        except NotFound:
            try:
                self.http.post("/v1/products", create, subkey(idempotency_key, "create"))
                return BillingProductRef(product_id)
            except PermanentError as exc:
                if exc.code != "resource_already_exists":  # created meanwhile by a concurrent worker
                    raise
                current = self.http.get(f"/v1/products/{product_id}").body
        if _differs(current, update):
            self.http.post(f"/v1/products/{product_id}", update, subkey(idempotency_key, "update"))
        return BillingProductRef(product_id)

    def create_price(self, product: BillingProductRef, price: PriceSpec, idempotency_key: str) -> str:
        """A new price; an active price of the product with the same amount and period is reused, so a
        retry after the 24 h key window still creates nothing twice (a list is consistent, a search not)."""
        with mapping_errors():
            params = mapping.price_params(product.product_id, price)
        listing = self.http.get("/v1/prices", {"product": product.product_id, "active": True, "limit": 100})
        for existing in _data(listing.body):
            if existing.get("recurring") and _spec(existing) == price:
                return str(read(existing, "id", str, "price"))
        return str(read(self.http.post("/v1/prices", params, idempotency_key).body, "id", str, "price"))

    def retire_price(self, product: BillingProductRef, price_id: str, idempotency_key: str) -> None:
        # Stripe prices cannot be deleted or changed in amount: retiring one is active=false.
        self.http.post(f"/v1/prices/{price_id}", {"active": False}, idempotency_key)


def _spec(price: dict[str, Any]) -> PriceSpec | None:
    try:
        with mapping_errors():
            return mapping.price_to_spec(price)
    except PermanentError:
        return None  # a price concord cannot express is never "the same" as a canonical one


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    for key, value in wanted.items():
        if key == "metadata":
            meta = current.get("metadata") or {}
            if any((meta.get(k) or "") != (v or "") for k, v in value.items()):
                return True
        elif isinstance(value, bool):
            if current.get(key) is not value:
                return True
        elif (current.get(key) or "") != (value or ""):  # Stripe's null and our "" both mean unset
            return True
    return False
