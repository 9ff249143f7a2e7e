"""The Salesforce adapter on the Salesforce sandbox, held to the CrmGateway contract."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from adapters.crm.salesforce.auth import SalesforceAuth
from adapters.crm.salesforce.client import SalesforceHttp
from adapters.crm.salesforce.gateway import SalesforceCrm
from adapters.outbound import FetchingTokens, RetryPolicy
from infrastructure.sandboxes.salesforce import SalesforceSandbox
from tests.contract.crm_contract import CrmGatewayContract
from tests.support.salesforce import CLIENT_ID, CLIENT_SECRET, SalesforceSeed


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    server = SalesforceSandbox(CLIENT_ID, CLIENT_SECRET, page_size=200)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def salesforce_crm(sandbox: SalesforceSandbox) -> SalesforceCrm:
    # One httpx client for the module: building one loads TLS settings (tenths of a second each).
    client = httpx.Client(timeout=10)
    auth = SalesforceAuth(sandbox.url, CLIENT_ID, client_secret=CLIENT_SECRET, client=client)
    http = SalesforceHttp(sandbox.url, tokens=FetchingTokens(auth.fetch_pair), client=client,
                          retry=RetryPolicy(base_delay_s=0.01, max_delay_s=0.05))
    return SalesforceCrm(http)


@pytest.fixture(scope="module")
def salesforce_seed(sandbox: SalesforceSandbox) -> SalesforceSeed:
    return SalesforceSeed(sandbox)


class TestSalesforceCrm(CrmGatewayContract):
    @pytest.fixture
    def gateway(self, salesforce_crm: SalesforceCrm) -> SalesforceCrm:
        return salesforce_crm

    @pytest.fixture
    def crm_seed(self, salesforce_seed: SalesforceSeed) -> SalesforceSeed:
        return salesforce_seed
