"""Stripe as concord's billing system: HTTP client, pure mapping, webhook signatures, the gateway."""

from adapters.billing.stripe.client import StripeHttp
from adapters.billing.stripe.gateway import StripeBilling

__all__ = ["StripeBilling", "StripeHttp"]
