"""The event gateway's HTTP edge: an API Gateway HTTP API (payload v2) event -> a response.

Thin (DESIGN §7): read the method, path, headers and raw body; call one use case; map errors.
    POST /events            x-api-key              -> EventGateway.publish_event
    POST /webhooks/stripe   Stripe-Signature       -> EventGateway.handle_stripe_webhook
    POST /webhooks/zuora    Authorization (basic)  -> EventGateway.handle_zuora_callout
    GET  /health, GET /openapi.json
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from application.gateway import EventGateway, Reply
from entrypoints.http_gateway.openapi import OPENAPI

log = logging.getLogger(__name__)

Handler = Callable[[EventGateway, Mapping[str, str], bytes], Reply]
POST_ROUTES: dict[str, Handler] = {
    "/events": lambda gw, headers, body: gw.publish_event(headers.get("x-api-key"), body),
    "/webhooks/stripe": lambda gw, headers, body: gw.handle_stripe_webhook(body,
                                                                          headers.get("stripe-signature")),
    "/webhooks/zuora": lambda gw, headers, body: gw.handle_zuora_callout(body, headers.get("authorization")),
}
GET_ROUTES: dict[str, Reply] = {"/health": (200, {"status": "ok"}), "/openapi.json": (200, OPENAPI)}


def route(event: Mapping[str, Any], gateway: EventGateway) -> dict[str, Any]:
    method, path = request_line(event)
    if path in GET_ROUTES or path in POST_ROUTES:
        allowed = "GET" if path in GET_ROUTES else "POST"
        if method != allowed:
            return response(405, {"error": "method_not_allowed", "message": f"use {allowed}"},
                            {"allow": allowed})
    else:
        return response(404, {"error": "not_found", "message": f"no route {method} {path}"})
    if method == "GET":
        return response(*GET_ROUTES[path])
    try:
        body = raw_body(event)
    except ValueError as exc:
        return response(400, {"error": "validation", "field": "body", "message": str(exc)})
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    try:
        status, payload = POST_ROUTES[path](gateway, headers, body)
    except Exception:  # never 2xx on a failure; the caller retries a 5xx
        log.exception("gateway failed on %s %s", method, path)
        return response(500, {"error": "internal", "message": "not accepted"})
    challenge = status == 401 and path == "/webhooks/zuora"
    extra = {"www-authenticate": 'Basic realm="concord"'} if challenge else {}
    return response(status, payload, extra)


def request_line(event: Mapping[str, Any]) -> tuple[str, str]:
    """Method and path; a named stage's prefix (`/dev/events`) is dropped, `$default` has none."""
    context = event.get("requestContext") or {}
    http = context.get("http") or {}
    method = str(http.get("method") or event.get("httpMethod") or "GET").upper()
    path = str(http.get("path") or event.get("rawPath") or "/")
    stage = context.get("stage")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1:]
    return method, path.rstrip("/") or "/"


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body exactly as sent: signatures are computed over these bytes."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"is not valid base64: {exc}") from exc
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def response(status: int, payload: Mapping[str, Any],
             headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"statusCode": status, "isBase64Encoded": False,
            "headers": {"content-type": "application/json", **(headers or {})},
            "body": json.dumps(payload, separators=(",", ":"), ensure_ascii=False)}
