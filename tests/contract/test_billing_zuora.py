"""ZuoraBilling on the Zuora sandbox, held to the BillingGateway contract."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
from adapters.outbound import RetryPolicy
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.contract.billing_contract import BillingGatewayContract


@pytest.fixture(scope="module")
def zuora_url() -> Iterator[str]:
    sandbox = ZuoraSandbox("contract-client", "contract-secret")
    yield sandbox.start()
    sandbox.stop()


class TestZuoraBilling(BillingGatewayContract):
    @pytest.fixture
    def gateway(self, zuora_url: str) -> ZuoraBilling:
        tokens = ZuoraAuth(zuora_url, "contract-client", "contract-secret").tokens()
        client = ZuoraClient(zuora_url, tokens=tokens, retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
        return ZuoraBilling(client)
