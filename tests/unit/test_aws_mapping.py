"""The pure functions beside the AWS adapters, property-tested: token JSON, PutEvents entries and batches,
SQS record parsing, the DeadLettered envelope, credential JSON."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws.eventbridge import MAX_ENTRIES, MAX_REQUEST_BYTES, entry_size, plan_batches, to_entry
from adapters.aws.secrets import decode_credentials, encode_credentials
from adapters.aws.sqs_batch import dead_letter_envelope, known_event, parse_record
from adapters.aws.token_store import decode_token, encode_token
from adapters.aws.token_store.codec import ADVANCED_MAX_CHARS, parameter_tier
from application.access import StoredToken
from application.errors import PermanentError
from domain.envelope import envelope_from_dict
from domain.errors import ValidationError

aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, None]).map(lambda tz: tz or UTC),
)
tokens = st.text(min_size=1, max_size=300)


# -- token JSON ------------------------------------------------------------------------------
@given(
    token=tokens,
    issued=aware_times,
    lifetime=st.integers(1, 10**6),
    instance_url=st.none() | st.just("https://acme.my.salesforce.com"),
)
def test_token_json_round_trips(
    token: str, issued: datetime, lifetime: int, instance_url: str | None
) -> None:
    stored = StoredToken(token, issued, issued + timedelta(seconds=lifetime), instance_url)
    assert decode_token(encode_token(stored)) == stored


@given(
    st.text(max_size=200)
    | st.builds(
        json.dumps,
        st.dictionaries(
            st.sampled_from(["access_token", "issued_at", "expires_at", "instance_url"]),
            st.none() | st.integers() | st.text(max_size=30),
        ),
    )
)
def test_decoding_any_text_gives_a_token_or_a_validation_error_naming_the_field(text: str) -> None:
    try:
        decode_token(text)
    except ValidationError as exc:
        assert exc.field in {"value", "access_token", "issued_at", "expires_at", "instance_url"}


def test_a_naive_expiry_is_refused_by_name() -> None:
    with pytest.raises(ValidationError) as info:
        encode_token(StoredToken("t", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1)))
    assert info.value.field == "expires_at"


@given(length=st.integers(0, ADVANCED_MAX_CHARS + 50))
def test_the_ssm_tier_holds_the_value_or_the_value_is_refused(length: int) -> None:
    try:
        tier = parameter_tier("x" * length)
    except ValidationError as exc:
        assert length > ADVANCED_MAX_CHARS and exc.field == "access_token"
    else:
        assert (tier == "Standard") == (length <= 4096)


# -- PutEvents entries and batches ---------------------------------------------------------------
def envelope(event_id: str = "e-1", data: dict[str, Any] | None = None, name: str = "AccountChanged") -> dict:
    return {
        "metadata": {
            "source": "concord.billing",
            "eventName": name,
            "eventSchemaVersion": "1",
            "eventId": event_id,
            "correlationId": "c-1",
            "occurredAt": "2026-11-22T10:00:00Z",
        },
        "data": data or {},
    }


def test_an_entry_carries_source_detail_type_and_the_whole_envelope() -> None:
    entry = to_entry(envelope(data={"objectId": "A-1"}), "concord-bus")
    assert entry["Source"] == "concord.billing" and entry["DetailType"] == "AccountChanged"
    assert entry["EventBusName"] == "concord-bus" and json.loads(entry["Detail"]) == envelope(
        data={"objectId": "A-1"}
    )


@pytest.mark.parametrize(
    ("broken", "field"),
    [
        ({"data": {}}, "metadata"),
        ({"metadata": {"eventName": "X"}, "data": {}}, "metadata.source"),
        ({"metadata": {"source": "s", "eventName": ""}}, "metadata.eventName"),
        ({"metadata": {"source": "s", "eventName": "X"}, "data": {1j}}, "data"),
    ],
)
def test_a_broken_envelope_is_a_permanent_error_naming_the_field(broken: dict, field: str) -> None:
    with pytest.raises(PermanentError) as info:
        to_entry(broken, "bus")
    assert info.value.field == field


def test_entry_size_follows_the_aws_formula() -> None:
    entry = {"Source": "é", "DetailType": "ab", "Detail": "{}", "Time": "x", "Resources": ["r1", "ü"]}
    assert entry_size(entry) == 14 + 2 + 2 + 2 + 2 + 2


sizes = st.lists(st.integers(0, 120_000), max_size=40)


@settings(max_examples=80)
@given(sizes)
def test_batches_keep_order_and_respect_the_putevents_limits(detail_sizes: list[int]) -> None:
    entries = [
        to_entry(envelope(f"e-{i}", {"pad": "x" * size}), "bus") for i, size in enumerate(detail_sizes)
    ]
    batches = plan_batches(entries)
    assert [e for batch in batches for e in batch] == entries
    for batch in batches:
        assert 1 <= len(batch) <= MAX_ENTRIES
        assert sum(entry_size(e) for e in batch) < MAX_REQUEST_BYTES


def test_one_entry_over_the_limit_is_refused_naming_the_detail() -> None:
    with pytest.raises(PermanentError) as info:
        plan_batches([to_entry(envelope(data={"pad": "x" * MAX_REQUEST_BYTES}), "bus")])
    assert info.value.field == "detail"


# -- SQS records -------------------------------------------------------------------------------
def sqs_record(body: str, message_id: str = "m-1", receive_count: int = 1) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": "rh",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count)},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:concord-dev-account",
    }


def bus_event(
    detail: dict[str, Any], source: str = "concord.billing", detail_type: str = "AccountChanged"
) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": "eb-1",
            "source": source,
            "detail-type": detail_type,
            "account": "123456789012",
            "time": "2026-11-22T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def test_an_eventbridge_record_is_parsed_with_its_envelope_and_correlation_id() -> None:
    record = parse_record(sqs_record(bus_event(envelope(data={"objectId": "A-1"})), receive_count=3))
    assert (record.source, record.detail_type, record.event_id) == (
        "concord.billing",
        "AccountChanged",
        "e-1",
    )
    assert record.correlation_id == "c-1" and record.receive_count == 3
    assert record.source_queue == "concord-dev-account" and record.envelope is not None
    assert record.envelope.data == {"objectId": "A-1"}


def test_a_salesforce_relay_record_keeps_its_payload() -> None:
    detail = {"payload": {"ChangeEventHeader": {"entityName": "Account", "recordIds": ["001x"]}}}
    record = parse_record(
        sqs_record(bus_event(detail, "aws.partner/salesforce.com/00D1/0YL1", "AccountChangeEvent"))
    )
    assert (
        record.envelope is None and record.detail["payload"]["ChangeEventHeader"]["entityName"] == "Account"
    )
    assert record.correlation_id == "eb-1"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not json", "body"),
        ("[1, 2]", "body"),
        (
            bus_event({**envelope(), "metadata": {**envelope()["metadata"], "eventSchemaVersion": "2"}}),
            "metadata.eventSchemaVersion",
        ),
        (
            bus_event(
                {"metadata": {k: v for k, v in envelope()["metadata"].items() if k != "eventId"}, "data": {}}
            ),
            "metadata.eventId",
        ),
        (bus_event(envelope(name="Unheard")), "metadata.eventName"),
        (bus_event(envelope(name="Unheard"), detail_type="Unheard"), "detail-type"),
        (
            bus_event({"no": "payload"}, "aws.partner/salesforce.com/00D1/0YL1", "AccountChangeEvent"),
            "detail.payload",
        ),
        (json.dumps(envelope(data={"pad": "x" * 300_000})), "body"),
    ],
)
def test_a_malformed_record_raises_a_validation_error_naming_the_field(body: str, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_record(sqs_record(body))
    assert info.value.field == field


@given(
    st.text(max_size=300)
    | st.builds(
        json.dumps,
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        [
                            "metadata",
                            "data",
                            "detail",
                            "detail-type",
                            "source",
                            "id",
                            "payload",
                            "eventId",
                            "x",
                        ]
                    ),
                    children,
                    max_size=5,
                )
            ),
            max_leaves=20,
        ),
    )
)
def test_any_body_parses_or_raises_only_a_validation_error(body: str) -> None:
    """Never KeyError/TypeError: anything else escaping here fails the test."""
    with contextlib.suppress(ValidationError):
        parse_record(sqs_record(body))


def test_known_events_follow_the_bus_contract() -> None:
    assert known_event("concord.billing", "PaymentFailed") and not known_event("concord.billing", "Refunded")
    assert known_event("concord.domain", "Order.Activated") and not known_event("concord.domain", "activated")
    assert known_event("concord.ops", "DeadLettered")
    assert known_event("aws.partner/salesforce.com/00D/0YL", "Contact_Update__e")
    assert not known_event("aws.partner/salesforce.com/00D/0YL", "Contact")
    assert known_event("com.example.carrier", "ShipmentConfirmed")  # the gateway checked its registration


@given(
    body=st.text(max_size=50_000),
    reason=st.text(max_size=3000),
    message_id=st.text(max_size=80),
    correlation_id=st.text(max_size=300),
)
def test_the_dead_lettered_envelope_is_always_a_valid_canonical_envelope(
    body: str, reason: str, message_id: str, correlation_id: str
) -> None:
    detail = dead_letter_envelope(
        queue="concord-dev-account",
        reason=reason,
        message_id=message_id,
        body=body,
        correlation_id=correlation_id,
        occurred_at=datetime(2026, 11, 22, tzinfo=UTC),
    )
    parsed = envelope_from_dict(detail)
    assert (parsed.metadata.source, parsed.metadata.eventName) == ("concord.ops", "DeadLettered")
    assert parsed.data["messageId"] == message_id and body.startswith(parsed.data["body"])
    assert len(to_entry(detail, "bus")["Detail"].encode()) < MAX_REQUEST_BYTES


def test_the_dead_lettered_event_id_is_stable_per_message() -> None:
    def make(queue: str, message_id: str) -> str:
        return dead_letter_envelope(
            queue=queue,
            reason="r",
            message_id=message_id,
            body="",
            correlation_id="c",
            occurred_at=datetime.now(UTC),
        )["metadata"]["eventId"]

    assert make("q", "m-1") == make("q", "m-1") != make("q", "m-2")


# -- credential JSON -----------------------------------------------------------------------------
@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(min_size=1, max_size=200), min_size=1))
def test_credentials_round_trip(credentials: dict[str, str]) -> None:
    assert decode_credentials(encode_credentials(credentials)) == credentials


@pytest.mark.parametrize("bad", [{}, {"client_id": ""}, {"client_id": 5}, []])
def test_bad_credentials_are_refused_by_field(bad: Any) -> None:
    with pytest.raises(PermanentError) as info:
        encode_credentials(bad)
    assert info.value.field is not None and info.value.field.startswith("credentials")
