"""process_batch with fakes: what returns to the queue, what is dead-lettered and why, the alerts."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel

from adapters.aws.sqs_batch import SqsRecord, process_batch
from application.errors import PermanentError, RetryableError
from domain.errors import BusinessRuleError

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:concord-dev-account"


@dataclass
class FakeDlq:
    sent: list[dict[str, str]] = field(default_factory=list)
    down: bool = False

    def send(self, body: str, reason: str, source_queue: str, message_id: str, correlation_id: str) -> None:
        if self.down:
            raise RetryableError("sqs unreachable", system="sqs", code="TRANSPORT")
        self.sent.append(
            {
                "body": body,
                "reason": reason,
                "source_queue": source_queue,
                "message_id": message_id,
                "correlation_id": correlation_id,
            }
        )


@dataclass
class FakePublisher:
    published: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    def publish(self, envelopes: Any) -> None:
        if self.down:
            raise RetryableError("eventbridge down", system="eventbridge")
        self.published.extend(envelopes)


def envelope(event_id: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {
            "source": "concord.billing",
            "eventName": "AccountChanged",
            "eventSchemaVersion": "1",
            "eventId": event_id,
            "correlationId": f"corr-{event_id}",
            "occurredAt": "2026-11-22T10:00:00Z",
        },
        "data": data or {},
    }


def record(message_id: str, body: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    if body is None:
        body = json.dumps(
            {
                "version": "0",
                "id": f"eb-{message_id}",
                "source": "concord.billing",
                "detail-type": "AccountChanged",
                "detail": envelope(message_id, {"do": message_id}),
            }
        )
    return {
        "messageId": message_id,
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSourceARN": QUEUE_ARN,
    }


class Model(BaseModel):
    amount: int


def handler(record: SqsRecord) -> None:
    """Acts on `data.do`: each value makes the handler fail in one way."""
    action = record.detail["data"]["do"]
    if action.startswith("retry"):
        raise RetryableError("vendor 503", system="zuora", code="503")
    if action.startswith("permanent"):
        raise PermanentError("bad tax id", system="zuora", code="INVALID_VALUE", field="tax_id")
    if action.startswith("rule"):
        raise BusinessRuleError("cannot cancel a rejected order")
    if action.startswith("pydantic"):
        Model.model_validate({"amount": "lots"})
    if action.startswith("bug"):
        raise KeyError("oops")


def run(
    *records: dict[str, Any], dlq: FakeDlq | None = None, alerts: FakePublisher | None = None
) -> tuple[list[str], FakeDlq, FakePublisher]:
    dlq, alerts = dlq or FakeDlq(), alerts or FakePublisher()
    result = process_batch({"Records": list(records)}, handler, dlq=dlq, alerts=alerts, max_receives=5)
    return [f["itemIdentifier"] for f in result["batchItemFailures"]], dlq, alerts


def test_one_bad_message_never_fails_its_batch() -> None:
    failures, dlq, _ = run(
        record("ok-1"),
        record("permanent-1"),
        record("retry-1"),
        record("ok-2"),
        record("bug-1"),
        record("broken", body="{not json"),
    )
    assert failures == ["retry-1", "bug-1"]
    assert [sent["message_id"] for sent in dlq.sent] == ["permanent-1", "broken"]


@pytest.mark.parametrize(
    ("message_id", "reason_part"),
    [
        ("permanent-1", "PermanentError [INVALID_VALUE]: bad tax id"),
        ("rule-1", "BusinessRuleError: cannot cancel a rejected order"),
        ("pydantic-1", "ValidationError: amount"),
    ],
)
def test_permanent_failures_are_dead_lettered_with_their_reason_and_not_retried(
    message_id: str, reason_part: str
) -> None:
    failures, dlq, _ = run(record(message_id))
    assert failures == []
    (sent,) = dlq.sent
    assert reason_part in sent["reason"]
    assert sent["source_queue"] == "concord-dev-account" and sent["correlation_id"] == f"corr-{message_id}"
    assert json.loads(sent["body"])["detail"]["data"]["do"] == message_id  # the original body, untouched


@pytest.mark.parametrize(
    ("body", "reason_part"),
    [
        ("{not json", "body: is not JSON"),
        (
            json.dumps(
                {
                    "version": "0",
                    "id": "x",
                    "source": "concord.billing",
                    "detail-type": "AccountChanged",
                    "detail": {
                        "metadata": {**envelope("x")["metadata"], "eventSchemaVersion": "9"},
                        "data": {},
                    },
                }
            ),
            "metadata.eventSchemaVersion",
        ),
        (
            json.dumps(
                {
                    "version": "0",
                    "id": "x",
                    "source": "concord.billing",
                    "detail-type": "Refunded",
                    "detail": {
                        **envelope("x"),
                        "metadata": {**envelope("x")["metadata"], "eventName": "Refunded"},
                    },
                }
            ),
            "unknown event name 'Refunded'",
        ),
        ("x" * (256 * 1024 + 1), "body: is 262145 bytes"),
    ],
)
def test_malformed_records_are_dead_lettered_naming_what_is_wrong(body: str, reason_part: str) -> None:
    failures, dlq, _ = run(record("m-1", body=body))
    assert failures == []
    assert "malformed record" in dlq.sent[0]["reason"] and reason_part in dlq.sent[0]["reason"]


def test_an_unexpected_exception_is_retried_until_max_receives_then_dead_lettered() -> None:
    for receive in range(1, 5):
        failures, dlq, _ = run(record("bug-1", receive_count=receive))
        assert failures == ["bug-1"] and dlq.sent == []
    failures, dlq, _ = run(record("bug-1", receive_count=5))
    assert failures == [] and "gave up after 5 receives: KeyError" in dlq.sent[0]["reason"]


def test_a_retryable_error_on_the_last_receive_is_dead_lettered_with_its_reason() -> None:
    assert run(record("retry-1", receive_count=4))[0] == ["retry-1"]
    failures, dlq, _ = run(record("retry-1", receive_count=5))
    assert failures == [] and "RetryableError [503]: vendor 503" in dlq.sent[0]["reason"]


def test_every_dead_lettering_logs_a_matchable_alert_and_publishes_dead_lettered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        _, _, alerts = run(record("permanent-1"))
    (line,) = [r for r in caplog.records if getattr(r, "alert", None) == "dead_letter"]
    assert (
        line.levelname == "ERROR" and line.queue == "concord-dev-account" and line.message_id == "permanent-1"
    )
    assert "bad tax id" in line.reason and line.correlation_id == "corr-permanent-1"
    (event,) = alerts.published
    assert (event["metadata"]["source"], event["metadata"]["eventName"]) == ("concord.ops", "DeadLettered")
    assert event["data"]["queue"] == "concord-dev-account" and event["data"]["messageId"] == "permanent-1"
    assert (
        "bad tax id" in event["data"]["reason"] and event["metadata"]["correlationId"] == "corr-permanent-1"
    )


def test_an_alert_that_cannot_be_published_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        failures, dlq, _ = run(record("permanent-1"), alerts=FakePublisher(down=True))
    assert failures == [] and len(dlq.sent) == 1
    assert any(r.getMessage() == "dead-letter alert not published" for r in caplog.records)


def test_a_record_whose_dlq_is_unreachable_stays_in_its_queue() -> None:
    failures, _, alerts = run(record("permanent-1"), record("ok-1"), dlq=FakeDlq(down=True))
    assert failures == ["permanent-1"] and alerts.published == []


def test_the_handler_runs_inside_the_flows_correlation_id() -> None:
    from adapters.logging import correlation_id_var

    seen: list[str] = []
    process_batch(
        {"Records": [record("ok-1")]}, lambda r: seen.append(correlation_id_var.get()), dlq=FakeDlq()
    )
    assert seen == ["corr-ok-1"] and correlation_id_var.get() == ""


def test_a_malformed_event_without_records_fails_nothing() -> None:
    assert process_batch({}, handler, dlq=FakeDlq()) == {"batchItemFailures": []}
    assert process_batch({"Records": "x"}, handler, dlq=FakeDlq()) == {"batchItemFailures": []}
