"""The canonical envelope (DESIGN §4): what is accepted, and every refusal names its field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.envelope import MAX_ENVELOPE_BYTES, Envelope, envelope_from_dict, new_envelope, parse_envelope
from domain.errors import ValidationError


def document(**metadata: Any) -> dict[str, Any]:
    base = {"source": "com.example.carrier", "eventName": "ShipmentConfirmed", "eventSchemaVersion": "1",
            "eventId": "evt-1", "correlationId": "corr-1", "occurredAt": "2026-11-22T10:00:00Z"}
    base.update(metadata)
    return {"metadata": {k: v for k, v in base.items() if v is not ...}, "data": {"shipmentId": "S1"}}


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def refusal(body: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_envelope(body)
    return caught.value


def test_a_valid_envelope_parses_with_its_fields() -> None:
    envelope = parse_envelope(raw(document()))
    assert envelope.metadata.source == "com.example.carrier"
    assert envelope.metadata.occurredAt == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert envelope.data == {"shipmentId": "S1"}


@pytest.mark.parametrize("field", ["source", "eventName", "eventSchemaVersion", "eventId", "correlationId",
                                   "occurredAt"])
def test_a_missing_metadata_field_is_named(field: str) -> None:
    error = refusal(raw(document(**{field: ...})))
    assert (error.field, error.message) == (f"metadata.{field}", "field required")
    assert str(error) == f"metadata.{field}: field required"


def test_missing_metadata_or_data_is_named() -> None:
    assert refusal(raw({"data": {}})).field == "metadata"
    assert refusal(raw({"metadata": document()["metadata"]})).field == "data"


@pytest.mark.parametrize("body", [b"not json", b"{\"metadata\": ", b"\xff\xfe", b""])
def test_a_body_that_is_not_json_is_refused_as_body(body: bytes) -> None:
    error = refusal(body)
    assert error.field == "body" and "not valid JSON" in error.message


@pytest.mark.parametrize("body", [b"[]", b"42", b"\"text\"", b"null"])
def test_a_body_that_is_not_an_object_is_refused_as_body(body: bytes) -> None:
    assert refusal(body).field == "body"


@pytest.mark.parametrize("version", ["2", "1.0", "", 1, None])
def test_an_unknown_schema_version_is_refused_by_name(version: Any) -> None:
    error = refusal(raw(document(eventSchemaVersion=version)))
    assert error.field == "metadata.eventSchemaVersion"


@pytest.mark.parametrize(("field", "value"), [("eventId", 42), ("source", ["a"]), ("eventName", {}),
                                              ("correlationId", True), ("occurredAt", 1700000000)])
def test_a_wrong_type_is_refused_by_name(field: str, value: Any) -> None:
    assert refusal(raw(document(**{field: value}))).field == f"metadata.{field}"


def test_data_must_be_an_object() -> None:
    doc = document()
    doc["data"] = [1, 2]
    assert refusal(raw(doc)).field == "data"


@pytest.mark.parametrize("value", ["2026-11-22T10:00:00", "yesterday", "2026-13-01T00:00:00Z"])
def test_occurred_at_must_be_an_iso_time_with_an_offset(value: str) -> None:
    assert refusal(raw(document(occurredAt=value))).field == "metadata.occurredAt"


@pytest.mark.parametrize(("field", "value"), [("source", ""), ("eventName", " padded "),
                                              ("eventId", "has space"), ("eventId", "x" * 257),
                                              ("source", "s" * 257)])
def test_names_and_ids_are_bounded_and_without_blanks(field: str, value: str) -> None:
    assert refusal(raw(document(**{field: value}))).field == f"metadata.{field}"


def test_an_unknown_metadata_field_is_refused_by_name() -> None:
    doc = document()
    doc["metadata"]["evntName"] = "typo"
    assert refusal(raw(doc)).field == "metadata.evntName"


def test_a_body_over_256_kb_is_refused_before_parsing() -> None:
    doc = document()
    doc["data"] = {"blob": "x" * MAX_ENVELOPE_BYTES}
    error = refusal(raw(doc))
    assert error.field == "body" and str(MAX_ENVELOPE_BYTES) in error.message


def test_a_body_just_under_the_limit_is_accepted() -> None:
    doc = document()
    doc["data"] = {"blob": ""}
    room = MAX_ENVELOPE_BYTES - len(raw(doc)) - len("com.example.carrierShipmentConfirmed")
    doc["data"]["blob"] = "x" * room
    assert parse_envelope(raw(doc)).bus_entry_size() <= MAX_ENVELOPE_BYTES


def test_an_envelope_built_in_code_is_held_to_the_bus_limit_too() -> None:
    with pytest.raises(ValidationError) as caught:
        new_envelope(source="concord.billing", event_name="AccountChanged", event_id="e", correlation_id="c",
                     occurred_at=datetime.now(UTC), data={"blob": "é" * (MAX_ENVELOPE_BYTES // 2)})
    assert caught.value.field == "body"


def test_the_detail_keeps_the_time_zone_and_is_canonical_json() -> None:
    envelope = parse_envelope(raw(document(occurredAt="2026-11-22T12:00:00+02:00")))
    assert envelope.to_detail()["metadata"]["occurredAt"] == "2026-11-22T12:00:00+02:00"
    assert envelope.to_json() == json.dumps(envelope.to_detail(), sort_keys=True, separators=(",", ":"),
                                            ensure_ascii=False)


# -- properties ------------------------------------------------------------------------------------
_token = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40)
_name = st.text(min_size=1, max_size=60).map(str.strip).filter(lambda s: s != "" and "\n" not in s
                                                                and "\r" not in s)
_json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20)
_json = st.recursive(_json_leaf, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_times = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1),
                      timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)),
                                                 timezone(timedelta(hours=-8))]))


@settings(max_examples=80, deadline=None)
@given(source=_name, event_name=_name, event_id=_token, correlation_id=_token, occurred_at=_times,
       data=st.dictionaries(st.text(max_size=10), _json, max_size=5))
def test_any_valid_envelope_round_trips_through_its_json(source: str, event_name: str, event_id: str,
                                                         correlation_id: str, occurred_at: datetime,
                                                         data: dict[str, Any]) -> None:
    envelope = new_envelope(source=source, event_name=event_name, event_id=event_id,
                            correlation_id=correlation_id, occurred_at=occurred_at, data=data)
    again = parse_envelope(envelope.to_json().encode())
    assert again == envelope
    assert again.to_json() == envelope.to_json()  # deterministic bytes
    assert again.metadata.occurredAt == occurred_at


@settings(max_examples=120, deadline=None)
@given(body=st.binary(max_size=200) | _json.map(lambda v: json.dumps(v).encode()))
def test_arbitrary_bytes_either_parse_or_raise_a_named_validation_error(body: bytes) -> None:
    try:
        envelope = parse_envelope(body)
    except ValidationError as exc:
        assert exc.field and exc.message
    else:
        assert isinstance(envelope, Envelope)


@settings(max_examples=80, deadline=None)
@given(metadata=st.dictionaries(st.sampled_from(["source", "eventName", "eventSchemaVersion", "eventId",
                                                  "correlationId", "occurredAt", "other"]), _json),
       data=_json)
def test_damaged_envelopes_name_a_field_that_exists_in_the_schema(metadata: dict[str, Any],
                                                                  data: Any) -> None:
    try:
        envelope_from_dict({"metadata": metadata, "data": data})
    except ValidationError as exc:
        top = exc.field.split(".")[0]
        assert top in {"metadata", "data", "body"}
