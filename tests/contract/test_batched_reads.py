"""The batched account read (BillingGateway.get_accounts) on the vendors' sandboxes: how many requests a
batch costs, and that the sandboxes answer the vendor's query forms as the vendor does."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.billing.stripe import StripeBilling, StripeHttp
from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
from adapters.billing.zuora import gateway as zuora_gateway
from adapters.outbound import RetryPolicy, StaticTokens
from infrastructure.sandboxes.stripe import StripeSandbox
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.contract.billing_contract import ACCOUNT

FAST = RetryPolicy(max_attempts=2, base_delay_s=0.01)


@pytest.fixture(scope="module")
def zuora() -> Iterator[tuple[str, ZuoraBilling]]:
    sandbox = ZuoraSandbox("batch-client", "batch-secret")
    url = sandbox.start()
    client = ZuoraClient(url, tokens=ZuoraAuth(url, "batch-client", "batch-secret").tokens(), retry=FAST)
    yield url, ZuoraBilling(client)
    sandbox.stop()


def _counting(target: Any, method: str) -> Counter[str]:
    calls: Counter[str] = Counter()
    inner = getattr(target, method)

    def counted(verb: str, path: str, *args: Any, **kwargs: Any) -> Any:
        calls[f"{verb} {path}"] += 1
        return inner(verb, path, *args, **kwargs)

    setattr(target, method, counted)
    return calls


def test_zuora_reads_a_batch_with_one_object_query_per_page_max_ids(zuora, monkeypatch):
    _, billing = zuora
    created = [billing.create_account(f"001B{n:011d}", ACCOUNT, f"batch-{n}") for n in range(12)]
    monkeypatch.setattr(zuora_gateway, "PAGE_MAX", 5)
    calls = _counting(billing.client, "call")
    found = billing.get_accounts({a.billing_id: a.crm_id or "" for a in created})
    assert set(found) == {a.billing_id for a in created}
    assert calls == Counter({"GET /object-query/accounts": 3})  # 5 + 5 + 2 ids


def test_the_zuora_sandbox_wants_a_bracketed_list_after_in(zuora):
    url, billing = zuora
    token = billing.client.tokens.token("zuora")
    answer = httpx.get(f"{url}/object-query/accounts", params={"filter[]": "id.IN:a,b"},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400


@pytest.mark.parametrize(("lag_s", "single_reads"), [(0.0, 0), (3600.0, 12)])
def test_stripe_reads_a_batch_with_one_search_per_ten_crm_ids_and_singly_what_search_lags(lag_s, single_reads):
    key = "sk_test_batch_0001"
    sandbox = StripeSandbox([key], rate_limit_per_s=10_000, search_lag_s=lag_s)
    url = sandbox.start()
    try:
        http = StripeHttp(url, tokens=StaticTokens({"stripe": key}), retry=FAST)
        billing = StripeBilling(http)
        created = [billing.create_account(f"001S{n:011d}", ACCOUNT, f"batch-{n}") for n in range(12)]
        calls = Counter[str]()
        get = http.get

        def counted(path: str, params: Any = None) -> Any:
            calls[path if path.endswith("search") else "retrieve"] += 1
            return get(path, params)

        http.get = counted  # type: ignore[method-assign]
        found = billing.get_accounts({a.billing_id: a.crm_id or "" for a in created})
        assert {b: a.crm_id for b, a in found.items()} == {a.billing_id: a.crm_id for a in created}
        assert calls["/v1/customers/search"] == 2  # 10 + 2 crm ids OR-ed in a query
        assert calls["retrieve"] == single_reads  # an hour of lag: nothing searchable yet, each read alone
    finally:
        sandbox.stop()
