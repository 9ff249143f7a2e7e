"""The gateway's DynamoDB tables against moto in server mode (real HTTP, real conditions)."""

from __future__ import annotations

import argparse
import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from adapters.aws.eventbridge import EventBridgePublisher
from adapters.aws.gateway_tables import (
    DestinationsTable,
    IdempotencyTable,
    SourcesTable,
    create_gateway_tables,
)
from application.delivery import Destination
from application.errors import NotFound, PermanentError, RetryableError
from application.gateway import EventGateway, IdempotencyInProgress, StoredResponse, hash_key
from application.gateway.admin import add_source, finish_rotation, rotate_key
from entrypoints.cli_gateway import add_parsers

pytestmark = pytest.mark.moto


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(moto_endpoint: str, moto_reset: None) -> Any:
    return boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def names(dynamodb: Any) -> Iterator[dict[str, str]]:
    suffix = uuid.uuid4().hex[:8]
    tables = {"sources": f"sources-{suffix}", "destinations": f"destinations-{suffix}",
              "idempotency": f"idempotency-{suffix}"}
    create_gateway_tables(dynamodb, **tables)
    yield tables


@pytest.fixture
def sources(dynamodb: Any, names: dict[str, str]) -> SourcesTable:
    return SourcesTable(dynamodb, names["sources"])


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def idempotency(dynamodb: Any, names: dict[str, str], clock: Clock) -> IdempotencyTable:
    return IdempotencyTable(dynamodb, names["idempotency"], ttl_s=3600, in_progress_s=60, clock=clock)


def carrier(sources: SourcesTable) -> tuple[str, str]:
    source, key = add_source(sources, name="carrier", source="com.example.carrier",
                             event_names=["ShipmentConfirmed"])
    return source.id, key


# -- sources ---------------------------------------------------------------------------------------
def test_a_registered_key_finds_its_source_and_only_its_hash_is_stored(
        sources: SourcesTable, dynamodb: Any, names: dict[str, str]) -> None:
    source_id, key = carrier(sources)
    found = sources.find_by_key_hash(hash_key(key))
    assert found is not None and found.id == source_id
    assert found.source == "com.example.carrier" and found.event_names == {"ShipmentConfirmed"}
    raw = str(dynamodb.scan(TableName=names["sources"])["Items"])
    assert key not in raw and hash_key(key) in raw


def test_an_unknown_key_finds_nothing(sources: SourcesTable) -> None:
    carrier(sources)
    assert sources.find_by_key_hash(hash_key("cgk_not-a-key")) is None


def test_during_a_rotation_both_keys_work_and_finishing_drops_the_old_one(sources: SourcesTable) -> None:
    source_id, old = carrier(sources)
    new = rotate_key(sources, source_id)
    assert sources.find_by_key_hash(hash_key(old)) is not None
    assert sources.find_by_key_hash(hash_key(new)) is not None
    finished = finish_rotation(sources, source_id)
    assert finished.key_hashes == (hash_key(new),)
    assert sources.find_by_key_hash(hash_key(old)) is None
    assert sources.find_by_key_hash(hash_key(new)) is not None


def test_a_second_rotation_before_finishing_is_refused(sources: SourcesTable) -> None:
    source_id, _ = carrier(sources)
    rotate_key(sources, source_id)
    with pytest.raises(PermanentError, match="already in progress"):
        rotate_key(sources, source_id)


def test_replacing_keys_from_a_stale_read_fails_and_changes_nothing(sources: SourcesTable) -> None:
    source_id, key = carrier(sources)
    stale = sources.get(source_id).key_hashes
    rotate_key(sources, source_id)
    with pytest.raises(PermanentError) as caught:
        sources.replace_keys(source_id, stale, ("f" * 64,))
    assert caught.value.code == "CONFLICT"
    assert sources.find_by_key_hash(hash_key(key)) is not None
    assert sources.find_by_key_hash("f" * 64) is None


def test_list_returns_every_source_by_name_and_get_of_an_unknown_id_is_not_found(
        sources: SourcesTable) -> None:
    add_source(sources, name="zeta", source="com.example.zeta", event_names=["A"])
    add_source(sources, name="alpha", source="com.example.alpha", event_names=["B"])
    assert [s.name for s in sources.list()] == ["alpha", "zeta"]
    with pytest.raises(NotFound):
        sources.get("no-such-id")


# -- idempotency -----------------------------------------------------------------------------------
def test_first_begin_claims_the_key_and_a_concurrent_one_is_told_in_progress(
        idempotency: IdempotencyTable) -> None:
    assert idempotency.begin("events:s:e1") is None
    with pytest.raises(IdempotencyInProgress):
        idempotency.begin("events:s:e1")


def test_a_completed_key_replays_the_stored_response(idempotency: IdempotencyTable) -> None:
    idempotency.begin("events:s:e1")
    idempotency.complete("events:s:e1", StoredResponse(202, {"status": "accepted", "eventId": "e1"}))
    stored = idempotency.begin("events:s:e1")
    assert stored == StoredResponse(202, {"status": "accepted", "eventId": "e1"})


def test_a_released_key_can_be_claimed_again(idempotency: IdempotencyTable) -> None:
    idempotency.begin("k")
    idempotency.release("k")
    assert idempotency.begin("k") is None


def test_release_never_deletes_a_completed_answer(idempotency: IdempotencyTable) -> None:
    idempotency.begin("k")
    idempotency.complete("k", StoredResponse(200, {"ok": True}))
    idempotency.release("k")
    assert idempotency.begin("k") == StoredResponse(200, {"ok": True})


def test_an_abandoned_claim_is_taken_over_after_its_in_progress_lifetime(idempotency: IdempotencyTable,
                                                                         clock: Clock) -> None:
    idempotency.begin("k")
    clock.now += 59
    with pytest.raises(IdempotencyInProgress):
        idempotency.begin("k")
    clock.now += 2
    assert idempotency.begin("k") is None


def test_an_answer_older_than_the_ttl_is_forgotten_even_before_dynamodb_deletes_it(
        idempotency: IdempotencyTable, clock: Clock) -> None:
    idempotency.begin("k")
    idempotency.complete("k", StoredResponse(202, {}))
    clock.now += 3601
    assert idempotency.begin("k") is None


def test_the_ledger_remembers_a_delivery_until_its_ttl(idempotency: IdempotencyTable, clock: Clock) -> None:
    assert not idempotency.delivered("e1", "d1")
    idempotency.mark_delivered("e1", "d1")
    assert idempotency.delivered("e1", "d1")
    assert not idempotency.delivered("e1", "d2")
    clock.now += 3601
    assert not idempotency.delivered("e1", "d1")


# -- destinations ----------------------------------------------------------------------------------
def destination(name: str, events: set[str]) -> Destination:
    return Destination(id=str(uuid.uuid4()), name=name, url=f"https://{name}.example/hook",
                       event_names=frozenset(events), signing_secrets=("s1", "s2"), auth_kind="oauth",
                       auth_secret_ref=f"concord/test/destinations/{name}", rate_per_s=2.5)


def test_destinations_round_trip_and_are_found_by_event_name(dynamodb: Any, names: dict[str, str]) -> None:
    table = DestinationsTable(dynamodb, names["destinations"])
    erp = destination("erp", {"Order.Activated", "Account.Synced"})
    table.add(erp)
    table.add(destination("crm", {"Order.Cancelled"}))
    assert table.subscribed_to("Order.Activated") == [erp]
    assert [d.name for d in table.subscribed_to("Order.Cancelled")] == ["crm"]
    assert table.subscribed_to("Product.Synced") == []


def test_destinations_are_cached_for_the_configured_time(dynamodb: Any, names: dict[str, str]) -> None:
    clock = Clock(0.0)
    reader = DestinationsTable(dynamodb, names["destinations"], cache_s=60, clock=clock)
    assert reader.subscribed_to("Order.Activated") == []
    DestinationsTable(dynamodb, names["destinations"]).add(destination("erp", {"Order.Activated"}))
    assert reader.subscribed_to("Order.Activated") == []
    clock.now = 61
    assert [d.name for d in reader.subscribed_to("Order.Activated")] == ["erp"]


# -- failures are application errors ---------------------------------------------------------------
def test_a_missing_table_is_a_permanent_error(dynamodb: Any) -> None:
    with pytest.raises(PermanentError):
        SourcesTable(dynamodb, "no-such-table").find_by_key_hash("0" * 64)


def test_an_unreachable_endpoint_is_a_retryable_error() -> None:
    client = boto3.client("dynamodb", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x",
                          config=Config(retries={"max_attempts": 1}, connect_timeout=0.5))
    with pytest.raises(RetryableError):
        IdempotencyTable(client, "t").begin("k")


# -- the CLI over the tables -----------------------------------------------------------------------
def cli(argv: list[str], dynamodb: Any, names: dict[str, str]) -> int:
    parser = argparse.ArgumentParser(prog="concord")
    add_parsers(parser.add_subparsers(dest="command", required=True),
                sources=lambda: SourcesTable(dynamodb, names["sources"]),
                destinations=lambda: DestinationsTable(dynamodb, names["destinations"]))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_cli_prints_a_sources_key_once_and_lists_only_what_is_safe(
        dynamodb: Any, names: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["sources", "add", "--name", "carrier", "--source", "com.example.carrier",
                "--event-names", "ShipmentConfirmed,ShipmentDelayed", "--json"], dynamodb, names) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["key"].startswith("cgk_") and added["eventNames"] == ["ShipmentConfirmed", "ShipmentDelayed"]
    assert SourcesTable(dynamodb, names["sources"]).find_by_key_hash(hash_key(added["key"])) is not None
    assert cli(["sources", "list", "--json"], dynamodb, names) == 0
    listed = capsys.readouterr().out
    assert added["key"] not in listed and hash_key(added["key"]) not in listed
    assert json.loads(listed) == [{k: v for k, v in added.items() if k != "key"}]


def test_cli_rotation_keeps_both_keys_until_finish(dynamodb: Any, names: dict[str, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cli(["sources", "add", "--name", "c", "--source", "com.example.c", "--event-names", "A", "--json"],
        dynamodb, names)
    added = json.loads(capsys.readouterr().out)
    assert cli(["sources", "rotate-key", added["id"]], dynamodb, names) == 0
    new_key = capsys.readouterr().out.split("new key: ")[1].split()[0]
    table = SourcesTable(dynamodb, names["sources"])
    assert table.find_by_key_hash(hash_key(added["key"])) and table.find_by_key_hash(hash_key(new_key))
    assert cli(["sources", "rotate-key", added["id"]], dynamodb, names) == 1  # one rotation at a time
    assert "finish it first" in capsys.readouterr().err
    assert cli(["sources", "rotate-key", added["id"], "--finish"], dynamodb, names) == 0
    assert table.find_by_key_hash(hash_key(added["key"])) is None
    assert table.find_by_key_hash(hash_key(new_key)) is not None


def test_cli_refuses_a_reserved_source_with_exit_code_1(dynamodb: Any, names: dict[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["sources", "add", "--name", "x", "--source", "concord.billing", "--event-names", "A"],
               dynamodb, names) == 1
    assert "source" in capsys.readouterr().err
    assert SourcesTable(dynamodb, names["sources"]).list() == []


def test_cli_destinations_print_the_signing_secret_once(dynamodb: Any, names: dict[str, str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["destinations", "add", "--name", "erp", "--url", "https://erp.example/hook", "--event-names",
                "Order.Activated", "--auth", "oauth", "--auth-secret", "concord/dev/destinations/erp",
                "--rate-limit", "3", "--json"], dynamodb, names) == 0
    added = json.loads(capsys.readouterr().out)
    stored = DestinationsTable(dynamodb, names["destinations"]).subscribed_to("Order.Activated")
    assert [d.signing_secrets for d in stored] == [(added["signingSecret"],)]
    assert stored[0].auth_kind == "oauth" and stored[0].rate_per_s == 3.0
    assert cli(["destinations", "list", "--json"], dynamodb, names) == 0
    listed = capsys.readouterr().out
    assert added["signingSecret"] not in listed
    assert json.loads(listed)[0]["authSecret"] == "concord/dev/destinations/erp"


# -- the whole gateway on moto: tables, EventBridge, a rule to SQS ---------------------------------
def test_an_event_posted_to_the_gateway_reaches_the_bus_once(moto_endpoint: str, dynamodb: Any,
                                                              names: dict[str, str], clock: Clock) -> None:
    events = boto3.client("events", endpoint_url=moto_endpoint, region_name="us-east-1")
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    events.create_event_bus(Name="concord-test")
    queue_url = sqs.create_queue(QueueName="carrier-events")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    events.put_rule(Name="carrier", EventBusName="concord-test",
                    EventPattern=json.dumps({"source": ["com.example.carrier"]}))
    events.put_targets(Rule="carrier", EventBusName="concord-test", Targets=[{"Id": "q", "Arn": queue_arn}])
    sources = SourcesTable(dynamodb, names["sources"])
    _, key = carrier(sources)
    gateway = EventGateway(sources, IdempotencyTable(dynamodb, names["idempotency"], clock=clock),
                           EventBridgePublisher(events, "concord-test"), stripe=None,  # type: ignore[arg-type]
                           zuora=None)  # type: ignore[arg-type]
    envelope = {"metadata": {"source": "com.example.carrier", "eventName": "ShipmentConfirmed",
                             "eventSchemaVersion": "1", "eventId": "ship-1", "correlationId": "c-1",
                             "occurredAt": "2026-11-22T10:00:00Z"}, "data": {"shipmentId": "S1"}}
    for _ in range(2):
        assert gateway.publish_event(key, json.dumps(envelope).encode()) == (
            202, {"status": "accepted", "eventId": "ship-1"})
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert len(messages) == 1
    delivered = json.loads(messages[0]["Body"])
    assert delivered["detail-type"] == "ShipmentConfirmed" and delivered["detail"] == envelope


# -- the Lambda handler, wired from settings, on moto ----------------------------------------------
@pytest.fixture
def wired(moto_endpoint: str, names: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from entrypoints.lambdas import _wiring_gateway as wiring
    from infrastructure.settings import get_settings

    for name, value in {"CONCORD_STAGE": "it", "CONCORD_SOURCES_TABLE": names["sources"],
                        "CONCORD_DESTINATIONS_TABLE": names["destinations"],
                        "CONCORD_IDEMPOTENCY_TABLE": names["idempotency"],
                        "CONCORD_BUS_NAME": "bus-it"}.items():
        monkeypatch.setenv(name, value)
    caches = [get_settings, wiring._clients, wiring.secrets, wiring.gateway, wiring.deliverer]
    for cached in caches:
        cached.cache_clear()
    boto3.client("events").create_event_bus(Name="bus-it")
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="concord/it/webhooks/stripe", SecretString=json.dumps(["whsec_it"]))
    secrets.create_secret(Name="concord/it/webhooks/zuora",
                          SecretString=json.dumps({"username": "zuora", "password": "pw"}))
    yield wiring
    for cached in caches:
        cached.cache_clear()


def _http(path: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    return {"version": "2.0", "rawPath": path, "headers": headers, "body": body.decode(),
            "isBase64Encoded": False, "requestContext": {"stage": "$default", "http": {"method": "POST"}}}


def test_the_gateway_lambda_wired_from_settings_accepts_all_three_inputs(wired: Any, dynamodb: Any,
                                                                          names: dict[str, str]) -> None:
    import time as _time

    from adapters.billing.stripe.webhook import sign
    from entrypoints.lambdas.gateway import handler

    _, key = carrier(SourcesTable(dynamodb, names["sources"]))
    envelope = {"metadata": {"source": "com.example.carrier", "eventName": "ShipmentConfirmed",
                             "eventSchemaVersion": "1", "eventId": "e-1", "correlationId": "c-1",
                             "occurredAt": "2026-11-22T10:00:00Z"}, "data": {}}
    posted = handler(_http("/events", json.dumps(envelope).encode(), {"x-api-key": key}), None)
    assert posted["statusCode"] == 202
    stripe = json.dumps({"id": "evt_it", "object": "event", "type": "customer.updated", "created": 1,
                         "data": {"object": {"id": "cus_1", "object": "customer"}}}).encode()
    signature = sign(stripe, "whsec_it", int(_time.time()))
    answer = handler(_http("/webhooks/stripe", stripe, {"stripe-signature": signature}), None)
    assert answer["statusCode"] == 200
    assert handler(_http("/webhooks/stripe", stripe, {"stripe-signature": sign(stripe, "whsec_x", 1)}),
                   None)["statusCode"] == 400
    callout = json.dumps({"eventType": "PaymentFailed", "objectType": "payment", "objectId": "p1",
                          "accountId": "a1", "accountNumber": "A1",
                          "eventTime": "2026-11-22T10:00:00Z"}).encode()
    auth = "Basic " + base64.b64encode(b"zuora:pw").decode()
    assert handler(_http("/webhooks/zuora", callout, {"authorization": auth}), None)["statusCode"] == 200
