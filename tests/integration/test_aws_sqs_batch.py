"""The SQS batch consumer on moto: bus -> queue -> process_batch -> DLQ with a reason + an alert event."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from adapters.aws.eventbridge import EventBridgePublisher
from adapters.aws.sqs_batch import SqsDeadLetterSink, SqsRecord, process_batch
from application.errors import PermanentError, RetryableError

BUS = "concord-it-bus"


def queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture
def stack(moto_reset: None, moto_endpoint: str) -> dict[str, Any]:
    events, sqs = boto3.client("events"), boto3.client("sqs")
    events.create_event_bus(Name=BUS)
    dlq_url, dlq_arn = queue(sqs, "it-account-dlq")
    account_url, account_arn = queue(sqs, "it-account")
    sqs.set_queue_attributes(
        QueueUrl=account_url,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})},
    )
    ops_url, ops_arn = queue(sqs, "it-notifications")
    for rule, source, arn in (("billing", "concord.billing", account_arn), ("ops", "concord.ops", ops_arn)):
        events.put_rule(Name=rule, EventBusName=BUS, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(Rule=rule, EventBusName=BUS, Targets=[{"Id": rule, "Arn": arn}])
    return {
        "sqs": sqs,
        "publisher": EventBridgePublisher(events, BUS),
        "account": (account_url, account_arn),
        "dlq": dlq_url,
        "ops": ops_url,
    }


def envelope(event_id: str) -> dict[str, Any]:
    return {
        "metadata": {
            "source": "concord.billing",
            "eventName": "AccountChanged",
            "eventSchemaVersion": "1",
            "eventId": event_id,
            "correlationId": f"corr-{event_id}",
            "occurredAt": "2026-11-22T10:00:00Z",
        },
        "data": {"vendor": "zuora", "objectType": "account", "objectId": event_id},
    }


def lambda_event(sqs: Any, url: str, arn: str) -> dict[str, Any]:
    """What Lambda's SQS event source mapping hands the function for one receive."""
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    ).get("Messages", [])
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
            }
            for m in messages
        ]
    }


def handle(record: SqsRecord) -> None:
    object_id = record.detail["data"]["objectId"]
    if object_id.startswith("retry"):
        raise RetryableError("zuora 503", system="zuora", code="503")
    if object_id.startswith("bad"):
        raise PermanentError("account number unknown", system="zuora", code="50000040")


def test_a_batch_with_good_retryable_and_permanent_messages(stack: dict[str, Any]) -> None:
    sqs, (url, arn) = stack["sqs"], stack["account"]
    stack["publisher"].publish([envelope("ok-1"), envelope("retry-1"), envelope("bad-1")])
    event = lambda_event(sqs, url, arn)
    assert len(event["Records"]) == 3
    ids = {json.loads(r["body"])["detail"]["metadata"]["eventId"]: r["messageId"] for r in event["Records"]}

    result = process_batch(event, handle, dlq=SqsDeadLetterSink(sqs, stack["dlq"]), alerts=stack["publisher"])

    assert result == {"batchItemFailures": [{"itemIdentifier": ids["retry-1"]}]}
    (dead,) = sqs.receive_message(QueueUrl=stack["dlq"], MessageAttributeNames=["All"])["Messages"]
    attributes = {name: value["StringValue"] for name, value in dead["MessageAttributes"].items()}
    assert "PermanentError [50000040]: account number unknown" in attributes["reason"]
    assert attributes["sourceQueue"] == "it-account" and attributes["originalMessageId"] == ids["bad-1"]
    assert attributes["correlationId"] == "corr-bad-1"
    assert json.loads(dead["Body"])["detail"] == envelope("bad-1")  # the body as it was, for a redrive
    (alert,) = sqs.receive_message(QueueUrl=stack["ops"])["Messages"]
    alert_event = json.loads(alert["Body"])
    assert (alert_event["source"], alert_event["detail-type"]) == ("concord.ops", "DeadLettered")
    assert alert_event["detail"]["data"]["messageId"] == ids["bad-1"]
    assert alert_event["detail"]["data"]["queue"] == "it-account"


def test_a_message_that_keeps_failing_unexpectedly_is_dead_lettered_on_its_fifth_receive(
    stack: dict[str, Any],
) -> None:
    sqs, (url, arn) = stack["sqs"], stack["account"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
    stack["publisher"].publish([envelope("bug-1")])

    def buggy(record: SqsRecord) -> None:
        raise ZeroDivisionError("division by zero")

    dlq = SqsDeadLetterSink(sqs, stack["dlq"])
    outcomes = [
        process_batch(lambda_event(sqs, url, arn), buggy, dlq=dlq)["batchItemFailures"] for _ in range(5)
    ]
    assert [len(failures) for failures in outcomes] == [1, 1, 1, 1, 0]
    (dead,) = sqs.receive_message(QueueUrl=stack["dlq"], MessageAttributeNames=["All"])["Messages"]
    assert "gave up after 5 receives: ZeroDivisionError" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_an_unreachable_dlq_leaves_the_message_in_its_queue(stack: dict[str, Any]) -> None:
    sqs, (url, arn) = stack["sqs"], stack["account"]
    stack["publisher"].publish([envelope("bad-1")])
    event = lambda_event(sqs, url, arn)
    dlq = SqsDeadLetterSink(sqs, url.replace("it-account", "no-such-dlq"))
    result = process_batch(event, handle, dlq=dlq)
    assert result == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
