"""Subscription items: the `items[i][…]` parameters of a subscription create or update."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.stripe import params as p
from infrastructure.sandboxes.stripe.errors import InvalidParams, StripeError
from infrastructure.sandboxes.stripe.store import Obj

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.store import Store


def apply_items(store: Store, subscription: Obj, value: Any) -> None:
    """Add (no id), update (id) or remove (id + deleted=true) items; then check the whole set."""
    if not isinstance(value, list) or not value:
        raise InvalidParams("Invalid array", param="items")
    items = {item["id"]: item for item in subscription["items"]["data"]}
    for index, change in enumerate(value):
        label = f"items[{index}]"
        if not isinstance(change, dict):
            raise InvalidParams("Invalid object", param=label)
        p.only(change, ("id", "price", "quantity", "metadata", "deleted"), label)
        item_id = p.text(change, "id", label=f"{label}[id]")
        if item_id is None:
            item = _new_item(store, subscription["id"])
            items[item["id"]] = item
        elif item_id not in items:
            raise StripeError(400, f"No such subscription item: '{item_id}'", code="resource_missing",
                              param=f"{label}[id]")
        else:
            item = items[item_id]
        if p.boolean(change, "deleted", f"{label}[deleted]"):
            del items[item["id"]]
            continue
        _update_item(store, item, change, label)
    subscription["items"]["data"] = list(items.values())
    check_items(subscription)


def _new_item(store: Store, subscription_id: str) -> Obj:
    item = store.new("si", "subscription_item")
    del item["livemode"]
    item.update(price=None, quantity=1, subscription=subscription_id)
    return item


def _update_item(store: Store, item: Obj, change: dict[str, Any], label: str) -> None:
    price_id = p.text(change, "price", required=item["price"] is None, label=f"{label}[price]")
    if price_id is not None:
        price = store.objects.get("price", {}).get(price_id)
        if price is None:
            raise StripeError(400, f"No such price: '{price_id}'", code="resource_missing", param=f"{label}[price]")
        if not price["active"]:
            raise StripeError(400, "The price specified is inactive. This field only accepts active prices.",
                              param=f"{label}[price]")
        if price["type"] != "recurring":
            raise StripeError(400, "The price specified is set to `type=one_time` but this field only accepts "
                                   "prices with `type=recurring`.", param=f"{label}[price]")
        item["price"] = copy.deepcopy(price)
    quantity = p.integer(change, "quantity", minimum=0, label=f"{label}[quantity]")
    if quantity is not None:
        item["quantity"] = quantity
    item["metadata"] = p.metadata(item["metadata"], change.get("metadata"))


def check_items(subscription: Obj) -> None:
    data = subscription["items"]["data"]
    if not data:
        raise StripeError(400, "A subscription must have at least one item.", param="items")
    prices = [item["price"] for item in data]
    if len({price["id"] for price in prices}) != len(prices):
        raise StripeError(400, "Cannot add multiple subscription items with the same price.", param="items")
    if len({price["currency"] for price in prices}) > 1:
        raise StripeError(400, "All prices on a subscription must have the same `currency`.", param="items")
    if len({(price["recurring"]["interval"], price["recurring"]["interval_count"]) for price in prices}) > 1:
        raise StripeError(400, "All prices on a subscription must have the same `recurring.interval` and "
                               "`recurring.interval_count`.", param="items")
    subscription["items"]["total_count"] = len(data)
