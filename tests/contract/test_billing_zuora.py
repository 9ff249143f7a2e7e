"""ZuoraBilling on the Zuora sandbox, held to the BillingGateway contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
from adapters.outbound import RetryPolicy
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.contract.billing_contract import BillingGatewayContract


@pytest.fixture(scope="module")
def zuora_gateway() -> Iterator[ZuoraBilling]:
    """One sandbox and one client for the module: building an httpx client (its TLS context) costs ~0.1 s."""
    sandbox = ZuoraSandbox("contract-client", "contract-secret")
    url = sandbox.start()
    tokens = ZuoraAuth(url, "contract-client", "contract-secret").tokens()
    client = ZuoraClient(url, tokens=tokens, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
    yield ZuoraBilling(client)
    sandbox.stop()


class TestZuoraBilling(BillingGatewayContract):
    @pytest.fixture
    def gateway(self, zuora_gateway: ZuoraBilling) -> ZuoraBilling:
        return zuora_gateway
