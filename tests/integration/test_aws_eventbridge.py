"""EventBridgePublisher against moto in server mode: a bus, a rule, an SQS target, and failed entries."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from adapters.aws.eventbridge import EventBridgePublisher
from adapters.outbound import RetryPolicy
from application.errors import PermanentError, RetryableError

BUS = "concord-it-bus"


@pytest.fixture
def bus(moto_reset: None, moto_endpoint: str) -> dict[str, Any]:
    """concord's bus with one rule routing `concord.billing` to a queue, as the template does."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    queue_url = sqs.create_queue(QueueName="it-account")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="billing", EventBusName=BUS, EventPattern=json.dumps({"source": ["concord.billing"]})
    )
    events.put_targets(Rule="billing", EventBusName=BUS, Targets=[{"Id": "account", "Arn": queue_arn}])
    return {"events": events, "sqs": sqs, "queue_url": queue_url}


def envelope(event_id: str, pad: int = 0) -> dict[str, Any]:
    return {
        "metadata": {
            "source": "concord.billing",
            "eventName": "AccountChanged",
            "eventSchemaVersion": "1",
            "eventId": event_id,
            "correlationId": "corr-1",
            "occurredAt": "2026-11-22T10:00:00Z",
        },
        "data": {"vendor": "zuora", "objectId": event_id, "pad": "x" * pad},
    }


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return events
        events += [json.loads(m["Body"]) for m in messages]
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


class Recording:
    """The moto client, recording each PutEvents call; `fail` picks entries that fail inside a 200."""

    def __init__(self, client: Any, fail: Any = None) -> None:
        self.client, self.fail, self.calls = client, fail, []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls.append([json.loads(e["Detail"])["metadata"]["eventId"] for e in Entries])
        codes = [self.fail(len(self.calls), e) if self.fail else None for e in Entries]
        accepted = [e for e, code in zip(Entries, codes, strict=True) if code is None]
        ids = iter(self.client.put_events(Entries=accepted)["Entries"] if accepted else [])
        results = [{"ErrorCode": code, "ErrorMessage": code} if code else next(ids) for code in codes]
        return {"FailedEntryCount": sum(1 for c in codes if c), "Entries": results}


def test_publish_puts_every_envelope_on_the_bus_in_batches_of_ten(bus: dict[str, Any]) -> None:
    client = Recording(bus["events"])
    EventBridgePublisher(client, BUS).publish([envelope(f"e-{i:02}") for i in range(23)])
    assert [len(call) for call in client.calls] == [10, 10, 3]
    delivered = drain(bus["sqs"], bus["queue_url"])
    assert sorted(e["detail"]["metadata"]["eventId"] for e in delivered) == [f"e-{i:02}" for i in range(23)]
    first = next(e for e in delivered if e["detail"]["metadata"]["eventId"] == "e-00")
    assert first["source"] == "concord.billing" and first["detail-type"] == "AccountChanged"
    assert first["detail"] == envelope("e-00")


def test_big_events_are_split_under_the_256_kb_request_limit(bus: dict[str, Any]) -> None:
    client = Recording(bus["events"])
    EventBridgePublisher(client, BUS).publish([envelope(f"big-{i}", pad=100_000) for i in range(5)])
    assert [len(call) for call in client.calls] == [2, 2, 1]
    assert len(drain(bus["sqs"], bus["queue_url"])) == 5


def test_only_the_entries_that_failed_inside_a_200_are_sent_again(bus: dict[str, Any]) -> None:
    def fail_odd_ones_on_the_first_call(call: int, entry: dict[str, Any]) -> str | None:
        odd = int(json.loads(entry["Detail"])["metadata"]["eventId"].split("-")[1]) % 2
        return "InternalFailure" if call == 1 and odd else None

    client = Recording(bus["events"], fail_odd_ones_on_the_first_call)
    publisher = EventBridgePublisher(client, BUS, sleep=lambda _: None)
    publisher.publish([envelope(f"e-{i}") for i in range(6)])
    assert client.calls == [[f"e-{i}" for i in range(6)], ["e-1", "e-3", "e-5"]]
    delivered = sorted(e["detail"]["metadata"]["eventId"] for e in drain(bus["sqs"], bus["queue_url"]))
    assert delivered == [f"e-{i}" for i in range(6)]  # each exactly once


def test_entries_still_failing_after_the_last_attempt_raise_naming_them(bus: dict[str, Any]) -> None:
    def always_throttled(call: int, entry: dict[str, Any]) -> str | None:
        return "ThrottlingException" if "e-2" in entry["Detail"] else None

    client = Recording(bus["events"], always_throttled)
    publisher = EventBridgePublisher(client, BUS, retry=RetryPolicy(max_attempts=3), sleep=lambda _: None)
    with pytest.raises(RetryableError) as info:
        publisher.publish([envelope("e-1"), envelope("e-2")])
    assert "eventId=e-2" in str(info.value) and "e-1" not in str(info.value)
    assert client.calls == [["e-1", "e-2"], ["e-2"], ["e-2"]]


def test_an_entry_the_bus_refuses_for_good_is_not_retried(bus: dict[str, Any]) -> None:
    client = Recording(
        bus["events"], lambda call, entry: "MalformedDetail" if "e-2" in entry["Detail"] else None
    )
    with pytest.raises(PermanentError) as info:
        EventBridgePublisher(client, BUS, sleep=lambda _: None).publish([envelope("e-1"), envelope("e-2")])
    assert info.value.code == "MalformedDetail" and len(client.calls) == 1


def test_a_missing_bus_is_a_permanent_error_not_a_botocore_exception(moto_reset: None) -> None:
    with pytest.raises(PermanentError) as info:
        EventBridgePublisher(boto3.client("events"), "no-such-bus").publish([envelope("e-1")])
    assert info.value.code == "ResourceNotFoundException"
