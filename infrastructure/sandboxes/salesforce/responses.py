"""Salesforce's response shapes: REST error arrays, JSON with Salesforce's number rendering."""

from __future__ import annotations

from typing import Any

from infrastructure.sandboxes.base import Response
from infrastructure.sandboxes.salesforce.events import dumps
from infrastructure.sandboxes.salesforce.schema import SfError

JSON = "application/json;charset=UTF-8"


def sf_json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps(payload).encode(), {"Content-Type": JSON, **(headers or {})})


def sf_error(error: SfError) -> Response:
    """A REST error: an array of {message, errorCode, fields} (never an object)."""
    return sf_json(error.status, [error.as_rest()])


def session_invalid() -> Response:
    # VENDORS §0 #1: exactly this array, without a `fields` key.
    return sf_json(401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}])


def limit_exceeded() -> Response:
    return sf_json(403, [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])


def record_url(version: str, obj: str, record_id: str) -> str:
    return f"/services/data/v{version}/sobjects/{obj}/{record_id}"


def with_attributes(version: str, obj: str, record: dict[str, Any], names: list[str] | None = None) -> dict[str, Any]:
    """A record as REST renders it: `attributes` first, then the fields (all, or the asked ones)."""
    fields = names if names is not None else list(record)
    return {"attributes": {"type": obj, "url": record_url(version, obj, record["Id"])},
            **{name: record.get(name) for name in fields}}
