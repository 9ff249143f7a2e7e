"""The scenario's steps, in order: (title, step)."""

from __future__ import annotations

from infrastructure.local.demo.edges import (
    account_history,
    billing_cancellation_comes_back,
    carrier_round_trip,
    notifications_arrive,
    payment_failure_and_recovery,
)
from infrastructure.local.demo.scenario import (
    account_created_and_edited,
    order_becomes_subscription,
    price_change_is_new_version,
    product_reaches_billing,
)

STEPS = [
    ("A product with a price created in Salesforce reaches billing", product_reaches_billing),
    (
        "An account created, then edited, in Salesforce appears in billing with the edit",
        account_created_and_edited,
    ),
    ("An order activated in Salesforce becomes a subscription", order_becomes_subscription),
    ("A price change reaches billing as a new price version", price_change_is_new_version),
    ("A payment failure suspends the order; a payment recovers it", payment_failure_and_recovery),
    ("A cancellation made in billing comes back to the order and the CRM", billing_cancellation_comes_back),
    ("An HTTP-only carrier gets a signed delivery and publishes back", carrier_round_trip),
    ("A WebSocket client receives the notifications", notifications_arrive),
    ("The audit history of the account", account_history),
]
