"""The canonical envelope (DESIGN §4): the bus `detail` and the body of `POST /events`.

    {"metadata": {"source", "eventName", "eventSchemaVersion": "1", "eventId", "correlationId",
                  "occurredAt": ISO 8601 with an offset}, "data": {...}}

`parse_envelope` is the one way in from raw bytes: every failure is a domain ValidationError whose
`field` is the dotted path of the culprit ("metadata.eventName", "data", or "body" when the bytes
are not a JSON object at all), so the gateway can answer 400 naming it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from domain.errors import ValidationError

# EventBridge refuses an entry over 256 KB (Source + DetailType + Detail + ...); checking the raw body
# first keeps a huge request from being parsed at all.
MAX_ENVELOPE_BYTES = 256 * 1024
SCHEMA_VERSIONS = ("1",)

# EventBridge limits: Source and DetailType are at most 256 characters. eventId and correlationId
# become parts of DynamoDB keys and log lines, so they are bounded too.
Name = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^\S(.*\S)?$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[\x21-\x7e]+$")]


def _iso_text(value: Any) -> Any:
    """Only text: pydantic would otherwise read a number as unix time, which the contract does not allow."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


class Metadata(BaseModel):
    """Who says what happened, when, and which flow it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    source: Name
    eventName: Name  # the wire names are the contract (DESIGN §4)
    eventSchemaVersion: Literal["1"]
    eventId: Id
    correlationId: Id
    # strict=False here only: JSON has no datetime type, so the ISO 8601 string must be parsed.
    occurredAt: Annotated[AwareDatetime, BeforeValidator(_iso_text)] = Field(strict=False)


class Envelope(BaseModel):
    """A validated envelope. `to_detail()` gives the JSON object put on the bus."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    metadata: Metadata
    data: dict[str, Any]

    def to_detail(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def bus_entry_size(self) -> int:
        """EventBridge's count for the entry: Source + DetailType + Detail, in UTF-8 bytes."""
        parts = (self.metadata.source, self.metadata.eventName, self.to_json())
        return sum(len(part.encode("utf-8")) for part in parts)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces): the same envelope always gives the same bytes."""
        return json.dumps(self.to_detail(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def parse_envelope(raw: bytes | str) -> Envelope:
    """Validate raw bytes into an Envelope, or raise ValidationError naming the first bad field."""
    body = raw.encode("utf-8") if isinstance(raw, str) else raw
    if len(body) > MAX_ENVELOPE_BYTES:
        raise ValidationError("body", f"is {len(body)} bytes; the limit is {MAX_ENVELOPE_BYTES}")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError("body", f"is not valid JSON: {exc}") from exc
    return envelope_from_dict(document)


def envelope_from_dict(document: Any) -> Envelope:
    """Validate an already decoded JSON value (e.g. an EventBridge `detail`)."""
    if not isinstance(document, dict):
        raise ValidationError("body", f"must be a JSON object, got {type(document).__name__}")
    _check_schema_version(document)
    try:
        envelope = Envelope.model_validate(document)
    except PydanticValidationError as exc:
        raise _first_error(exc) from exc
    size = envelope.bus_entry_size()
    if size > MAX_ENVELOPE_BYTES:
        raise ValidationError("body", f"is {size} bytes on the bus; the limit is {MAX_ENVELOPE_BYTES}")
    return envelope


def new_envelope(*, source: str, event_name: str, event_id: str, correlation_id: str,
                 occurred_at: datetime, data: dict[str, Any]) -> Envelope:
    """Build an envelope from Python values (the gateway's normalised webhooks), validated the same way."""
    return envelope_from_dict({
        "metadata": {"source": source, "eventName": event_name, "eventSchemaVersion": SCHEMA_VERSIONS[0],
                     "eventId": event_id, "correlationId": correlation_id,
                     "occurredAt": occurred_at.isoformat()},
        "data": data,
    })


def _check_schema_version(document: dict[str, Any]) -> None:
    """An unknown version is refused by name, before field errors that a newer schema might explain."""
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and "eventSchemaVersion" in metadata:
        version = metadata["eventSchemaVersion"]
        if version not in SCHEMA_VERSIONS:
            supported = ", ".join(SCHEMA_VERSIONS)
            raise ValidationError("metadata.eventSchemaVersion",
                                  f"unknown schema version {version!r}; supported: {supported}")


def _first_error(exc: PydanticValidationError) -> ValidationError:
    error = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in error["loc"]) or "body"
    message = "field required" if error["type"] == "missing" else str(error["msg"])
    return ValidationError(field, message)
