"""The token store, writer and lease against moto in server mode, and TWO WORKER PROCESSES racing on a 401."""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from adapters.aws.lease import Lease
from adapters.aws.token_store import SsmTokenProvider, SsmTokenWriter
from application.access import StoredToken
from application.errors import PermanentError

STAGE = "it"
LEASES = "concord-it-leases"
KEY_ALIAS = "alias/concord-it"
NOW = datetime.now(UTC)


def token(value: str, lifetime_s: float = 3600, instance_url: str | None = None) -> StoredToken:
    return StoredToken(value, NOW, NOW + timedelta(seconds=lifetime_s), instance_url)


@pytest.fixture
def aws(moto_reset: None, moto_endpoint: str) -> dict[str, Any]:
    kms = boto3.client("kms")
    key_id = kms.create_key(Description="concord it")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_id)
    ddb = boto3.client("dynamodb")
    ddb.create_table(
        TableName=LEASES,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    return {"ssm": boto3.client("ssm"), "ddb": ddb, "endpoint": moto_endpoint}


def test_the_writer_stores_a_securestring_under_the_kms_key_and_overwrites(aws: dict[str, Any]) -> None:
    writer = SsmTokenWriter(aws["ssm"], STAGE, KEY_ALIAS)
    writer.write("salesforce", token("sf-1", instance_url="https://acme.my.salesforce.com"))
    writer.write("salesforce", token("sf-2", instance_url="https://acme.my.salesforce.com"))
    (described,) = aws["ssm"].describe_parameters()["Parameters"]
    assert described["Name"] == "/concord/it/tokens/salesforce"
    assert (
        described["Type"] == "SecureString" and described["KeyId"] == KEY_ALIAS and described["Version"] == 2
    )
    current = writer.current("salesforce")
    assert current is not None and current.access_token == "sf-2"
    assert current.instance_url == "https://acme.my.salesforce.com"
    assert writer.current("zuora") is None


def test_a_token_too_long_for_ssm_is_refused_by_field(aws: dict[str, Any]) -> None:
    with pytest.raises(PermanentError) as info:
        SsmTokenWriter(aws["ssm"], STAGE, KEY_ALIAS).write("zuora", token("x" * 9000))
    assert info.value.field == "access_token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_without_the_extension_the_provider_reads_ssm_with_boto3(aws: dict[str, Any]) -> None:
    SsmTokenWriter(aws["ssm"], STAGE, KEY_ALIAS).write("zuora", token("z-1"))
    provider = SsmTokenProvider(
        aws["ssm"],
        STAGE,
        extension_port=free_port(),  # nothing listens: refused
        lease=Lease(aws["ddb"], LEASES),
        request_refresh=lambda s: None,
    )
    assert provider.token("zuora") == "z-1"


def test_a_lease_has_one_holder_until_released_or_expired(aws: dict[str, Any]) -> None:
    clock = [1_000_000.0]
    first = Lease(aws["ddb"], LEASES, owner="a", ttl_s=30, clock=lambda: clock[0])
    second = Lease(aws["ddb"], LEASES, owner="b", ttl_s=30, clock=lambda: clock[0])
    assert first.acquire("token-refresh/zuora") and not second.acquire("token-refresh/zuora")
    assert second.acquire("token-refresh/salesforce")  # leases are per name
    second.release("token-refresh/zuora")  # not the owner: a no-op
    assert first.holder("token-refresh/zuora") == "a"
    first.release("token-refresh/zuora")
    assert second.acquire("token-refresh/zuora")
    clock[0] += 32  # b crashed while holding it
    assert first.holder("token-refresh/zuora") is None and first.acquire("token-refresh/zuora")


def test_invalidate_requests_one_refresh_and_reads_the_new_token_from_ssm(aws: dict[str, Any]) -> None:
    writer = SsmTokenWriter(aws["ssm"], STAGE, KEY_ALIAS)
    writer.write("zuora", token("stale"))
    provider = SsmTokenProvider(
        aws["ssm"],
        STAGE,
        lease=Lease(aws["ddb"], LEASES),
        poll_s=0.01,
        request_refresh=lambda system: writer.write(system, token("fresh")),
    )
    assert provider.token("zuora") == "stale"
    assert provider.invalidate("zuora", "stale") == "fresh" and provider.refreshes_requested == 1
    assert aws["ddb"].scan(TableName=LEASES)["Items"] == []  # released


# -- two worker processes -------------------------------------------------------------------------
def _worker(endpoint: str, counter: str, barrier: Any, results: Any) -> None:
    """One Lambda instance: read the token, see a 401 on it (both at once), recover."""
    ssm = boto3.client("ssm", endpoint_url=endpoint)
    writer = SsmTokenWriter(ssm, STAGE, KEY_ALIAS)

    def refresh(system: str) -> None:  # the access manager, on demand
        with open(counter, "a") as file:
            file.write(f"{os.getpid()}\n")
        time.sleep(0.3)  # a vendor round trip: the other worker is waiting meanwhile
        writer.write(system, token("fresh-after-401"))

    lease = Lease(boto3.client("dynamodb", endpoint_url=endpoint), LEASES, ttl_s=10)
    provider = SsmTokenProvider(ssm, STAGE, lease=lease, request_refresh=refresh, poll_s=0.05, wait_s=15)
    try:
        seen = provider.token("zuora")
        barrier.wait(timeout=30)
        results.put((seen, provider.invalidate("zuora", seen), provider.refreshes_requested))
    except Exception as exc:
        results.put(("error", repr(exc), 0))


def test_two_workers_seeing_a_401_on_the_same_token_cause_exactly_one_refresh(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    SsmTokenWriter(aws["ssm"], STAGE, KEY_ALIAS).write("zuora", token("stale-before-401"))
    counter = tmp_path / "refreshes"
    counter.touch()
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs the moto server thread
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_worker, args=(aws["endpoint"], str(counter), barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert outcomes == [
        ("stale-before-401", "fresh-after-401", outcomes[0][2]),
        ("stale-before-401", "fresh-after-401", outcomes[1][2]),
    ], outcomes
    assert len(counter.read_text().splitlines()) == 1
    assert sorted(outcome[2] for outcome in outcomes) == [0, 1]
