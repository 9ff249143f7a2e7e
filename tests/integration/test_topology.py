"""The provisioned topology, read back from moto (server mode) and judged against docs/bus-contract.md.

Nothing here compares the template with itself: resources are listed and described through the AWS
APIs, expectations come from the routing contract, and routing is proven by putting sample events on
the buses and receiving them from the queues.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from infrastructure.provision import (
    LOCAL_PARTNER_BUS,
    LOCAL_PARTNER_SOURCE,
    Topology,
    load_template,
    provision,
)
from infrastructure.provision.intrinsics import Resolver

pytestmark = pytest.mark.moto

CONTRACT = (Path(__file__).resolve().parents[2] / "docs" / "bus-contract.md").read_text(encoding="utf-8")
# The Queues table: | `account` | <rule patterns> | `entrypoints.lambdas.account.handler` |
QUEUE_ROW = re.compile(r"^\| `(\w+)` \|.*\| `(entrypoints\.lambdas\.[\w.]+)` \|$", re.MULTILINE)
QUEUE_ROWS = dict(QUEUE_ROW.findall(CONTRACT))
SERVICE_QUEUES = sorted(QUEUE_ROWS)
STAGE = "dev"


def queue_name(service: str) -> str:
    return f"concord-{STAGE}-{service}"


@pytest.fixture(scope="module")
def topology(moto_server, moto_endpoint) -> Topology:
    moto_server.reset()
    return provision(endpoint_url=moto_endpoint, parameters={"Stage": STAGE})


@pytest.fixture(scope="module")
def aws(moto_endpoint) -> dict[str, Any]:
    return {name: boto3.client(name) for name in ("sqs", "events", "dynamodb", "kms")}


def _queue_urls(sqs: Any) -> dict[str, str]:
    urls = sqs.list_queues(QueueNamePrefix=f"concord-{STAGE}-").get("QueueUrls", [])
    return {url.rsplit("/", 1)[1]: url for url in urls}


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _rules(events: Any, bus: str) -> dict[str, dict[str, Any]]:
    """Every rule of ours on the bus, with its pattern and targets, as EventBridge reports them.
    The archive's own rule (Events-Archive-*, managed by EventBridge) is not ours to configure."""
    found = {}
    for rule in events.list_rules(EventBusName=bus)["Rules"]:
        if rule["Name"].startswith("Events-Archive-"):
            continue
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        found[rule["Name"]] = {**rule, "EventPattern": json.loads(rule["EventPattern"]), "Targets": targets}
    return found


# ---------------------------------------------------------------- queues


def test_contract_lists_the_seven_service_queues():
    assert sorted(
        ["account", "order", "product", "correlation", "writeback", "notifications", "delivery"]
    ) == SERVICE_QUEUES


@pytest.mark.parametrize("service", SERVICE_QUEUES)
def test_service_queue_redrives_to_its_own_dlq_after_five_receives(topology, aws, service):
    urls = _queue_urls(aws["sqs"])
    attributes = _attributes(aws["sqs"], urls[queue_name(service)])
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq = _attributes(aws["sqs"], urls[f"{queue_name(service)}-dlq"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert "FifoQueue" not in attributes and "FifoQueue" not in dlq  # standard queues (DESIGN §2.1)
    # A standard queue's message keeps its first enqueue time in the DLQ: the DLQ must keep it longer.
    assert int(dlq["MessageRetentionPeriod"]) > int(attributes["MessageRetentionPeriod"])


@pytest.mark.parametrize("service", SERVICE_QUEUES)
def test_service_queue_is_consumed_by_the_contracts_handler(topology, aws, service):
    url = _queue_urls(aws["sqs"])[queue_name(service)]
    (logical_id,) = [q.logical_id for q in topology.queues.values() if q.url == url]
    consumers = topology.consumers(logical_id)
    assert [spec.handler for spec in consumers] == [QUEUE_ROWS[service]]
    (source,) = consumers[0].events
    assert source.report_batch_item_failures and source.maximum_concurrency >= 2


@pytest.mark.parametrize("service", SERVICE_QUEUES)
def test_service_queue_accepts_events_only_from_the_rules_that_target_it(topology, aws, service):
    urls = _queue_urls(aws["sqs"])
    attributes = _attributes(aws["sqs"], urls[queue_name(service)])
    targeting = {
        rule["Arn"]
        for rule in _rules(aws["events"], topology.bus_name).values()
        if any(t["Arn"] == attributes["QueueArn"] for t in rule["Targets"])
    }
    (statement,) = json.loads(attributes["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert set(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == targeting != set()


def test_consumer_dead_letters_with_a_reason_to_its_own_queues_dlq(topology, aws):
    urls = _queue_urls(aws["sqs"])
    for service in SERVICE_QUEUES:
        (spec,) = [s for s in topology.functions.values() if s.handler == QUEUE_ROWS[service]]
        assert spec.environment["CONCORD_DLQ_URL"] == urls[f"{queue_name(service)}-dlq"]


# ---------------------------------------------------------------- rules


def test_every_rule_target_on_concords_bus_retries_then_dead_letters(topology, aws):
    rules_dlq = _attributes(aws["sqs"], _queue_urls(aws["sqs"])[f"concord-{STAGE}-rules-dlq"])["QueueArn"]
    rules = _rules(aws["events"], topology.bus_name)
    targeted = set()
    for name, rule in rules.items():
        assert rule["State"] == "ENABLED", name
        for target in rule["Targets"]:
            assert target["DeadLetterConfig"]["Arn"] == rules_dlq, name
            assert target["RetryPolicy"]["MaximumEventAgeInSeconds"] > 0, name
            assert "Input" not in target and "InputTransformer" not in target, name
            targeted.add(target["Arn"].rsplit(":", 1)[1])
    assert targeted == {queue_name(service) for service in SERVICE_QUEUES}


def test_the_bus_is_archived_for_replays(topology, aws):
    archives = aws["events"].list_archives(EventSourceArn=topology.bus_arn)["Archives"]
    assert [a["ArchiveName"] for a in archives] == [f"concord-{STAGE}-bus-archive"]


def test_partner_bus_holds_one_rule_forwarding_salesforce_events_to_concords_bus(topology, aws):
    bus_arn = aws["events"].describe_event_bus(Name=topology.bus_name)["Arn"]
    (rule,) = _rules(aws["events"], LOCAL_PARTNER_BUS).values()
    assert rule["EventPattern"] == {"source": [{"prefix": "aws.partner/salesforce.com"}]}
    (target,) = rule["Targets"]
    assert target["Arn"] == bus_arn
    assert target["RoleArn"].startswith("arn:aws:iam::")  # a bus target needs a role that may PutEvents
    assert "DeadLetterConfig" in target and "RetryPolicy" in target


# ---------------------------------------------------------------- tables and key


def test_events_table_has_the_recorders_keys_a_new_image_stream_kms_and_pitr(topology, aws):
    table = aws["dynamodb"].describe_table(TableName=f"concord-{STAGE}-events")["Table"]
    keys = {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    # adapters/aws/dynamodb_eventstore writes pk (S) and sk (N).
    assert keys == {"pk": "HASH", "sk": "RANGE"} and types == {"pk": "S", "sk": "N"}
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    key_arn = aws["kms"].describe_key(KeyId=f"alias/concord-{STAGE}")["KeyMetadata"]["Arn"]
    assert table["SSEDescription"]["SSEType"] == "KMS"
    # AWS reports the key's ARN; moto echoes the key id it was given: compare the key id.
    assert table["SSEDescription"]["KMSMasterKeyArn"].rsplit("/", 1)[-1] == key_arn.rsplit("/", 1)[-1]
    backups = aws["dynamodb"].describe_continuous_backups(TableName=f"concord-{STAGE}-events")
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


# The attribute names the adapters write: adapters/aws/lease.py, gateway_tables, websocket.py.
TTL_TABLES = [
    ("leases", "pk", "expires_at"),
    ("idempotency", "id", "expiration"),
    ("connections", "pk", "expires_at"),
]


@pytest.mark.parametrize(("table", "key", "ttl_attribute"), TTL_TABLES)
def test_short_lived_tables_expire_items_by_ttl(topology, aws, table, key, ttl_attribute):
    name = f"concord-{STAGE}-{table}"
    ttl = aws["dynamodb"].describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == ttl_attribute
    schema = aws["dynamodb"].describe_table(TableName=name)["Table"]["KeySchema"]
    assert schema == [{"AttributeName": key, "KeyType": "HASH"}]


@pytest.mark.parametrize("table", ["sources", "destinations"])
def test_gateway_tables_are_keyed_by_id(topology, aws, table):
    schema = aws["dynamodb"].describe_table(TableName=f"concord-{STAGE}-{table}")["Table"]["KeySchema"]
    assert schema == [{"AttributeName": "id", "KeyType": "HASH"}]


def test_connections_table_finds_a_rooms_connections_by_index(topology, aws):
    table = aws["dynamodb"].describe_table(TableName=f"concord-{STAGE}-connections")["Table"]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-room"
    assert index["KeySchema"][0] == {"AttributeName": "room", "KeyType": "HASH"}


def test_function_environment_names_resources_that_exist(topology, aws):
    env = topology.functions["AccountFunction"].environment
    tables = set(aws["dynamodb"].list_tables()["TableNames"])
    for name in ("EVENTS", "CONNECTIONS", "SOURCES", "DESTINATIONS", "LEASES", "IDEMPOTENCY"):
        assert env[f"CONCORD_{name}_TABLE"] in tables
    assert aws["events"].describe_event_bus(Name=env["CONCORD_BUS_NAME"])["Name"] == env["CONCORD_BUS_NAME"]
    assert aws["kms"].describe_key(KeyId=env["CONCORD_KMS_KEY_ID"])["KeyMetadata"]["Enabled"]
    assert env["CONCORD_EVENT_STORE"] == "dynamodb" and env["CONCORD_STAGE"] == STAGE


def test_outbox_relay_reads_the_events_tables_stream_and_dead_letters_to_an_existing_queue(topology, aws):
    table = aws["dynamodb"].describe_table(TableName=f"concord-{STAGE}-events")["Table"]
    relay = "entrypoints.lambdas.outbox_relay.handler"
    (spec,) = [s for s in topology.functions.values() if s.handler == relay]
    (source,) = spec.events
    assert source.stream_arn == table["LatestStreamArn"]
    assert source.report_batch_item_failures and source.bisect_batch_on_function_error
    assert 0 < source.maximum_retry_attempts < 10_000  # bounded: a poison record cannot stall the shard
    on_failure = topology.queues[source.on_failure_queue_logical_id]
    assert on_failure.url in _queue_urls(aws["sqs"]).values()


def test_schedules_are_recorded_for_the_local_runtime(topology):
    schedules = {spec.handler: source.expression for source, spec in topology.schedules}
    assert schedules == {
        "entrypoints.lambdas.access_manager.handler": "rate(15 minutes)",
        "entrypoints.lambdas.reconcile.handler": "rate(1 day)",
    }


def _inventory(aws: dict[str, Any], bus: str) -> tuple[Any, ...]:
    return (
        _queue_urls(aws["sqs"]),
        _rules(aws["events"], bus),
        aws["kms"].list_keys()["Keys"],
        aws["dynamodb"].list_tables()["TableNames"],
    )


def test_provisioning_twice_changes_nothing(topology, aws, moto_endpoint):
    before = _inventory(aws, topology.bus_name)
    again = provision(endpoint_url=moto_endpoint, parameters={"Stage": STAGE})
    assert again == topology
    assert _inventory(aws, topology.bus_name) == before


# ---------------------------------------------------------------- routing sample events


@pytest.fixture(scope="module")
def drain(topology, aws):
    """Receive and delete everything in concord's queues: {queue name: [EventBridge event, ...]}.

    moto delivers to the targets while it handles PutEvents, so the messages are there on return."""
    sqs, urls = aws["sqs"], _queue_urls(aws["sqs"])

    def drain() -> dict[str, list[dict[str, Any]]]:
        landed: dict[str, list[dict[str, Any]]] = {}
        for name, url in urls.items():
            while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
                landed.setdefault(name, []).extend(json.loads(m["Body"]) for m in messages)
                handles = [m["ReceiptHandle"] for m in messages]
                entries = [{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(handles)]
                sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                if len(messages) < 10:
                    break
        return landed

    drain()
    return drain


@pytest.fixture
def route(topology, aws, drain):
    """Put one event on a bus; return where it landed, checking it arrived whole everywhere."""

    def route(bus: str, source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
        entry = {"EventBusName": bus, "Source": source, "DetailType": detail_type}
        entry["Detail"] = json.dumps(detail)
        assert aws["events"].put_events(Entries=[entry])["FailedEntryCount"] == 0
        landed = drain()
        for events in landed.values():  # consumers get the event whole: nothing rewritten on the way
            received = [(e["source"], e["detail-type"], e["detail"]) for e in events]
            assert received == [(source, detail_type, detail)]
        return landed

    return route


def _envelope(source: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    metadata = {
        "source": source, "eventName": name, "eventSchemaVersion": "1", "eventId": str(uuid.uuid4()),
        "correlationId": str(uuid.uuid4()), "occurredAt": "2026-11-22T10:00:00Z",
    }
    return {"metadata": metadata, "data": data}


def _relay(entity: str) -> dict[str, Any]:
    """A CDC event as Event Relay delivers it: the Salesforce event under detail.payload (VENDORS §1.6)."""
    header = {"entityName": entity, "changeType": "UPDATE", "recordIds": ["001xx000003DGb2AAG"],
              "commitNumber": 1, "sequenceNumber": 1, "transactionKey": str(uuid.uuid4())}
    payload = {"ChangeEventHeader": header, "Name": "Acme"}
    return {"payload": payload, "schemaId": "abc", "id": str(uuid.uuid4())}


CDC_ROUTES = [
    ("AccountChangeEvent", "account"),
    ("OrderChangeEvent", "order"),
    ("OrderItemChangeEvent", "order"),
    ("Product2ChangeEvent", "product"),
    ("PricebookEntryChangeEvent", "product"),
]


@pytest.mark.parametrize(("detail_type", "service"), CDC_ROUTES)
def test_salesforce_change_event_on_the_partner_bus_is_forwarded_to_its_queue(route, detail_type, service):
    landed = route(LOCAL_PARTNER_BUS, LOCAL_PARTNER_SOURCE, detail_type, _relay(detail_type[:-11]))
    assert {name: len(events) for name, events in landed.items()} == {queue_name(service): 1}


def test_appflow_salesforce_events_are_not_taken_for_event_relay_ones(route):
    # VENDORS §1.6: the older AppFlow path has another source prefix and a flat detail; do not mix them up.
    appflow = "aws.partner/appflow/salesforce.com/00Dsandbox/flow"
    assert route(LOCAL_PARTNER_BUS, appflow, "AccountChangeEvent", _relay("Account")) == {}


BILLING_ROUTES = [
    ("AccountChanged", "account"),
    ("PaymentFailed", "account"),
    ("PaymentProcessed", "account"),
    ("SubscriptionChanged", "order"),
]


@pytest.mark.parametrize(("detail_type", "service"), BILLING_ROUTES)
def test_billing_trigger_reaches_its_queue_only(topology, route, detail_type, service):
    data = {"vendor": "stripe", "objectType": "subscription", "objectId": "sub_1", "accountId": "cus_1",
            "vendorEventId": "evt_1"}
    envelope = _envelope("concord.billing", detail_type, data)
    landed = route(topology.bus_name, "concord.billing", detail_type, envelope)
    assert set(landed) == {queue_name(service)}


DOMAIN_ROUTES = [
    ("Account.Synced", {"writeback", "notifications", "delivery"}),
    ("Order.Activated", {"writeback", "notifications", "delivery"}),
    ("Order.Cancelled", {"writeback", "notifications", "delivery"}),
    ("Order.Suspended", {"writeback", "notifications"}),
    ("Product.SyncFailed", {"writeback", "notifications"}),
    ("Account.Registered", {"notifications"}),
    ("Product.PriceVersionAdded", {"notifications"}),
]


@pytest.mark.parametrize(("detail_type", "services"), DOMAIN_ROUTES)
def test_domain_event_reaches_exactly_its_subscribers(topology, route, detail_type, services):
    data = {"aggregateId": str(uuid.uuid4()), "aggregateType": detail_type.split(".")[0], "version": 2,
            "timestamp": "2026-11-22T10:00:00Z", "crmId": "001xx000003DGb2AAG", "state": {}}
    envelope = _envelope("concord.domain", detail_type, data)
    landed = route(topology.bus_name, "concord.domain", detail_type, envelope)
    assert set(landed) == {queue_name(s) for s in services}


def test_dead_lettered_ops_event_reaches_notifications_only(topology, route):
    data = {"queue": "account", "reason": "validation", "messageId": "m-1", "body": "{}"}
    envelope = _envelope("concord.ops", "DeadLettered", data)
    landed = route(topology.bus_name, "concord.ops", "DeadLettered", envelope)
    assert set(landed) == {queue_name("notifications")}


def test_external_event_with_links_reaches_correlation(topology, route):
    data = {"shipmentId": "SHP-1", "links": ["crm:801xx000003DGb2AAG", "carrier:SHP-1"]}
    envelope = _envelope("com.example.carrier", "ShipmentConfirmed", data)
    landed = route(topology.bus_name, "com.example.carrier", "ShipmentConfirmed", envelope)
    assert set(landed) == {queue_name("correlation")}


def test_links_given_as_an_object_do_not_match_the_exists_filter(topology, route):
    """EventBridge's exists filter only matches leaf nodes, so data.links must be a scalar or an array of
    scalars; an object-valued links routes nowhere (a contract constraint for the gateway's sources)."""
    data = {"shipmentId": "SHP-1", "links": {"crm": "801xx000003DGb2AAG"}}
    envelope = _envelope("com.example.carrier", "ShipmentConfirmed", data)
    assert route(topology.bus_name, "com.example.carrier", "ShipmentConfirmed", envelope) == {}


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [
        ("com.example.carrier", "ShipmentConfirmed"),  # a registered source, but no links in its data
        ("concord.billing", "InvoicePosted"),  # a billing name nobody subscribes to
        ("concord.other", "Account.Synced"),  # a domain name from a source that is not concord.domain
    ],
)
def test_event_matching_no_rule_lands_nowhere(topology, route, source, detail_type):
    envelope = _envelope(source, detail_type, {"shipmentId": "SHP-1"})
    assert route(topology.bus_name, source, detail_type, envelope) == {}


def test_without_a_partner_bus_the_forwarding_rule_and_its_grants_are_left_out():
    # A first deploy has no partner bus yet (Event Relay creates it): the condition must drop the rule,
    # its role, and the rule's ARN from the rule DLQ's policy, instead of pointing at a bus that is not there.
    template = load_template()
    pseudo = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    resolver = Resolver(template, {"SalesforcePartnerBusName": ""}, pseudo)
    resources = template["Resources"]
    rule_arn = "arn:aws:events:us-east-1:123456789012:rule"
    assert not resolver.included(resources["PartnerForwardRule"])
    assert not resolver.included(resources["PartnerForwardRole"])
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Events::Rule" and logical_id != "PartnerForwardRule":
            resolver.bind(logical_id, logical_id, Arn=f"{rule_arn}/{logical_id}")
    resolver.bind("RuleDeadLetterQueue", "url", Arn="arn:aws:sqs:us-east-1:123456789012:rules-dlq")
    policy = resolver.resolve(resources["RuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"])
    (statement,) = policy["Statement"]
    assert len(statement["Condition"]["ArnEquals"]["aws:SourceArn"]) == 9
