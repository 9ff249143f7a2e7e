"""The Zuora anti-corruption layer: pure, deterministic functions between canonical records and
Zuora's JSON. Each module's docstring lists its rules; tests/unit/test_zuora_mapping.py holds them."""

from adapters.billing.zuora.mapping.accounts import (
    account_create_payload,
    account_fields_from_zuora,
    account_from_zuora,
    account_update_payload,
    split_name,
)
from adapters.billing.zuora.mapping.catalog import (
    charge_payload,
    next_version,
    orphan_plan,
    plan_prices,
    price_id,
    product_changes,
    product_payload,
    rate_plan_payload,
    retire_payload,
    split_price_id,
)
from adapters.billing.zuora.mapping.orders import (
    amend_actions,
    amend_order,
    cancel_order,
    create_order,
    resume_order,
    suspend_order,
)
from adapters.billing.zuora.mapping.subscriptions import ORDER_FIELD, current_charges, subscription_from_zuora

__all__ = [
    "ORDER_FIELD",
    "account_create_payload",
    "account_fields_from_zuora",
    "account_from_zuora",
    "account_update_payload",
    "amend_actions",
    "amend_order",
    "cancel_order",
    "charge_payload",
    "create_order",
    "current_charges",
    "next_version",
    "orphan_plan",
    "plan_prices",
    "price_id",
    "product_changes",
    "product_payload",
    "rate_plan_payload",
    "resume_order",
    "retire_payload",
    "split_name",
    "split_price_id",
    "subscription_from_zuora",
    "suspend_order",
]
