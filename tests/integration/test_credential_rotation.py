"""No request fails while a vendor credential is rotated under load (issue 4, tokens and credentials).

Stripe's restricted key is rolled the way the Dashboard does it: the new key is added, the store
rotated, and after an overlap the old key expires at the vendor. Clients that still hold the old
key get one 401, read the store again and carry on with the new key.
"""

from __future__ import annotations

import threading
import time

import boto3
import httpx
import pytest

from adapters.aws.secrets import ApiKeyTokens, CredentialStore
from adapters.billing.stripe.client import StripeHttp
from adapters.billing.stripe.gateway import StripeBilling
from adapters.outbound import RetryPolicy
from infrastructure.sandboxes.stripe import StripeSandbox


@pytest.fixture
def stripe_sandbox():
    sandbox = StripeSandbox(["rk_test_old"], rate_limit_per_s=1000)
    sandbox.start()
    yield sandbox
    sandbox.stop()


def test_no_request_fails_while_the_stripe_key_is_rotated_under_load(moto_endpoint, moto_reset, stripe_sandbox):
    kms = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    store = CredentialStore(boto3.client("secretsmanager"), "test", kms)
    store.set("stripe", {"api_key": "rk_test_old"})
    workers = []
    for _ in range(4):  # four warm instances, each with its own cached key
        tokens = ApiKeyTokens(store, ttl_s=30.0)  # longer than the test: only a 401 makes them re-read
        http = StripeHttp(stripe_sandbox.url, tokens=tokens, client=httpx.Client(timeout=10),
                          retry=RetryPolicy(max_attempts=3, base_delay_s=0.01))
        workers.append((tokens, StripeBilling(http)))
    failures: list[BaseException] = []
    calls = [0]
    stop = threading.Event()

    def load(gateway: StripeBilling) -> None:
        while not stop.is_set():
            try:
                gateway.list_accounts(None, 1)
                calls[0] += 1
            except BaseException as exc:  # any failure at all is what this test is about
                failures.append(exc)

    threads = [threading.Thread(target=load, args=(gateway,)) for _, gateway in workers]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    before_rotation = calls[0]
    httpx.post(f"{stripe_sandbox.url}/__sandbox/keys", json={"add": ["rk_test_new"]}).raise_for_status()
    store.rotate("stripe", {"api_key": "rk_test_new"})
    time.sleep(0.5)
    httpx.post(f"{stripe_sandbox.url}/__sandbox/keys", json={"remove": ["rk_test_old"]}).raise_for_status()
    store.end_overlap("stripe")
    after_expiry = calls[0]
    time.sleep(1.0)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert before_rotation > 0 and calls[0] > after_expiry  # load ran before, during and after
    assert {tokens.token("stripe") for tokens, _ in workers} == {"rk_test_new"}
