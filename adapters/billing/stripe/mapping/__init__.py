"""The anti-corruption layer between concord's canonical model and Stripe's objects: pure functions.

Every rule is property-tested in tests/unit/test_stripe_mapping.py. Invalid canonical input raises
domain.errors.ValidationError naming the field; a Stripe object of an unexpected shape raises
application.errors.PermanentError naming the field; neither ever raises KeyError or TypeError.
"""

from adapters.billing.stripe.mapping.accounts import (
    CRM_ID_KEY,
    customer_create_params,
    customer_fields,
    customer_to_account,
    customer_update_params,
)
from adapters.billing.stripe.mapping.catalog import (
    price_params,
    price_to_spec,
    product_from_stripe,
    product_id_for,
    product_params,
)
from adapters.billing.stripe.mapping.subscriptions import (
    ORDER_KEY,
    RESUME_PARAMS,
    SUSPEND_PARAMS,
    cancel_plan,
    canonical_status,
    period_end,
    subscription_amend_params,
    subscription_create_params,
    subscription_to_canonical,
)

__all__ = [
    "CRM_ID_KEY", "ORDER_KEY", "RESUME_PARAMS", "SUSPEND_PARAMS", "cancel_plan", "canonical_status",
    "customer_create_params", "customer_fields", "customer_to_account", "customer_update_params", "period_end",
    "price_params", "price_to_spec", "product_from_stripe", "product_id_for", "product_params",
    "subscription_amend_params", "subscription_create_params", "subscription_to_canonical",
]
