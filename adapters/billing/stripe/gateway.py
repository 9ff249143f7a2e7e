"""StripeBilling: application.ports.BillingGateway on Stripe (issue 4).

The port's operations live in three parts (accounts, catalog, subscriptions) over one StripeHttp
client; the pure mapping is adapters/billing/stripe/mapping. Versions of returned objects are the
time concord received them (StripeHttp._version): Stripe objects have no `updated` field.
"""

from __future__ import annotations

from adapters.billing.stripe._accounts import AccountOps
from adapters.billing.stripe._catalog import CatalogOps
from adapters.billing.stripe._subscriptions import SubscriptionOps


class StripeBilling(AccountOps, CatalogOps, SubscriptionOps):
    """Build with `StripeBilling(StripeHttp(base_url, tokens=...), today=..., days_until_due=30)`."""

    vendor = "stripe"
