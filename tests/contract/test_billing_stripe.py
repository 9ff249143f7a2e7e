"""StripeBilling on the Stripe sandbox, held to the BillingGateway contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.billing.stripe import StripeBilling, StripeHttp
from adapters.outbound import RetryPolicy, StaticTokens
from infrastructure.sandboxes.stripe import StripeSandbox
from tests.contract.billing_contract import BillingGatewayContract

KEY = "sk_test_contract_0001"


@pytest.fixture(scope="module")
def stripe_url() -> Iterator[str]:
    # The contract makes many calls quickly; Stripe's sandbox limit (25/s) is exercised in conformance.
    sandbox = StripeSandbox([KEY], rate_limit_per_s=10_000)
    yield sandbox.start()
    sandbox.stop()


class TestStripeBilling(BillingGatewayContract):
    @pytest.fixture
    def gateway(self, stripe_url: str) -> StripeBilling:
        http = StripeHttp(stripe_url, tokens=StaticTokens({"stripe": KEY}),
                          retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
        return StripeBilling(http)
