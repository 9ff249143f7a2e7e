"""Stripe's error answers: `{"error": {type, code, message, param, doc_url}}` (docs.stripe.com/api/errors)."""

from __future__ import annotations

import json
from typing import Any

from infrastructure.sandboxes.base import Response


class StripeError(Exception):
    """An error answer. `saved` is False for failures Stripe's idempotency layer does not store:
    parameter validation, auth, rate limiting (they run before an endpoint begins executing)."""

    saved = True

    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}

    def response(self, request_id: str) -> Response:
        headers = {"Content-Type": "application/json", "Request-Id": request_id, **self.headers}
        return Response(self.status, json.dumps(self.body(), indent=2).encode(), headers)


class InvalidParams(StripeError):
    """A request refused before execution (bad or unknown parameter): never stored under its key."""

    saved = False

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(400, message, param=param, code=code)


def missing(resource: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {resource}: '{object_id}'", code="resource_missing", param=param)


def unknown_param(name: str) -> InvalidParams:
    return InvalidParams(f"Received unknown parameter: {name}", param=name, code="parameter_unknown")


def missing_param(name: str) -> InvalidParams:
    return InvalidParams(f"Missing required param: {name}.", param=name, code="parameter_missing")
