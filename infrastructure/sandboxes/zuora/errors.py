"""Zuora's answer shapes: v1 failures (HTTP 200, success:false, 8-digit reason codes), CRUD failures
(Success:false, Errors:[{Code, Message}]), and JSON with exact decimals.

A code is a 6-digit resource code plus a 2-digit category (developer.zuora.com/docs/guides/error-codes).
The resource codes below are the sandbox's own (Zuora's per-field resource codes are not published
as a list); the categories are Zuora's: 10 permission, 11 authentication, 20 invalid value,
21 unknown field, 22 missing required field, 30 rule restriction, 40 not found, 50 locking
contention, 60 internal error, 70 request exceeded limit.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

from infrastructure.sandboxes.base import Response

RESOURCE = {"account": "531001", "contact": "531002", "order": "531003", "subscription": "531004",
            "catalog": "531005", "query": "500000", "auth": "900000"}
INVALID, UNKNOWN_FIELD, MISSING, RULE, NOT_FOUND = "20", "21", "22", "30", "40"


class ZuoraFailure(Exception):
    """Raised inside a handler: answer with Zuora's failure body (HTTP 200 unless `status` says)."""

    def __init__(self, resource: str, category: str, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code = int(RESOURCE[resource] + category)
        self.message, self.status = message, status


class CrudFailure(Exception):
    """A CRUD (/v1/object/*) failure: Success:false with an error code name."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # float repr is the shortest text that reads back as the same number
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_default).encode()


def loads(body: bytes) -> Any:
    return json.loads(body or b"null", parse_float=Decimal)


def answer(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps(payload), {"Content-Type": "application/json", **(headers or {})})


def ok(payload: dict[str, Any]) -> Response:
    return answer(200, {"success": True, **payload})


def failure_body(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "processId": secrets.token_hex(8).upper(),
            "reasons": [{"code": code, "message": message}]}


def failure(exc: ZuoraFailure) -> Response:
    return answer(exc.status, failure_body(exc.code, exc.message))


def crud_failure(exc: CrudFailure) -> Response:
    return answer(200, {"Success": False, "Errors": [{"Code": exc.code, "Message": exc.message}]})
