"""Salesforce's response shapes: REST error arrays, JSON with Salesforce's number rendering."""

from __future__ import annotations

import uuid
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


def server_error(oauth: bool) -> Response:
    if oauth:
        return sf_json(500, {"error": "unknown_error", "error_description": "retry your request"})
    return sf_json(500, [{"message": "An unexpected error occurred. Please include this ErrorId if you contact "
                          f"support: {uuid.uuid4().int % 10**9}-{uuid.uuid4().int % 10**5} (-1292286133)",
                          "errorCode": "UNKNOWN_EXCEPTION"}])


def throttled(oauth: bool) -> Response:
    if oauth:
        return sf_json(400, {"error": "rate_limit_exceeded", "error_description": "rate limit exceeded"})
    return limit_exceeded()


def not_found(method: str, method_not_allowed: bool) -> Response:
    if method_not_allowed:
        return sf_json(405, [{"message": f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE,HEAD",
                              "errorCode": "METHOD_NOT_ALLOWED"}])
    return sf_json(404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}])


def known_version(version: str, newest: str) -> bool:
    try:
        return 20.0 <= float(version) <= float(newest)
    except ValueError:
        return False


def client_of(headers: dict[str, str]) -> str | None:
    """`Sforce-Call-Options: client=<id>`: the caller's client id, echoed in CDC changeOrigin."""
    for part in headers.get("sforce-call-options", "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "client" and value:
            return value
    return None
