"""The event gateway function (API Gateway HTTP API, payload v2): POST /events, webhooks, health, OpenAPI."""

from __future__ import annotations

from typing import Any

from entrypoints.http_gateway import route
from entrypoints.lambdas import _wiring_gateway as wiring


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return route(event, wiring.gateway())
