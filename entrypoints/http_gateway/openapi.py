"""The gateway's OpenAPI 3.1 document, as data (served at `GET /openapi.json`)."""

from __future__ import annotations

from typing import Any

from application.gateway.billing_events import STRIPE_EVENTS, ZUORA_EVENTS

_REF = "#/components/schemas/"


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": _REF + schema}}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {400: "Invalid body or signature; `field` names the culprit",
            401: "Missing or unknown credentials",
            403: "The key may not publish this source or eventName",
            409: "The same event is being accepted right now; retry later",
            500: "Not accepted (a permanent failure of concord's)",
            503: "Not accepted now (the bus or a table is unavailable); retry with the same body"}
    return {str(status): _json("Error", text[status]) for status in statuses}


_STRING = {"type": "string", "minLength": 1, "maxLength": 256}
_SCHEMAS: dict[str, Any] = {
    "Metadata": {
        "type": "object", "additionalProperties": False,
        "required": ["source", "eventName", "eventSchemaVersion", "eventId", "correlationId", "occurredAt"],
        "properties": {"source": {**_STRING, "examples": ["com.example.carrier"]},
                       "eventName": {**_STRING, "examples": ["ShipmentConfirmed"]},
                       "eventSchemaVersion": {"const": "1"},
                       "eventId": {**_STRING, "description": "Unique per source; repeats are deduplicated"},
                       "correlationId": _STRING,
                       "occurredAt": {"type": "string", "format": "date-time"}}},
    "Envelope": {"type": "object", "additionalProperties": False, "required": ["metadata", "data"],
                 "description": "The canonical envelope (DESIGN §4); at most 256 KB",
                 "properties": {"metadata": {"$ref": _REF + "Metadata"}, "data": {"type": "object"}}},
    "Accepted": {"type": "object", "required": ["status"],
                 "properties": {"status": {"enum": ["accepted", "ignored"]}, "eventId": {"type": "string"},
                                "type": {"type": "string"}}},
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string", "examples": ["validation"]},
                             "field": {"type": "string", "examples": ["metadata.eventName"]},
                             "message": {"type": "string"}}},
    "ZuoraCallout": {
        "type": "object", "description": "The callout body a tenant configures (docs/zuora-callout.md)",
        "required": ["eventType", "objectType", "objectId", "accountId", "accountNumber", "eventTime"],
        "properties": {
            "eventType": {"enum": sorted(ZUORA_EVENTS)},
            "objectType": {"enum": ["subscription", "account", "payment"]},
            "objectId": {"type": "string"}, "accountId": {"type": "string"},
            "accountNumber": {"type": "string"},
            "eventTime": {"type": "string", "description": "ISO 8601; read as UTC without an offset"}}},
    "StripeEvent": {"type": "object", "required": ["id", "object", "type", "created", "data"],
                    "properties": {"id": {"type": "string", "pattern": "^evt_"}, "object": {"const": "event"},
                                   "type": {"type": "string", "description": "Followed (others get 200 "
                                            "'ignored'): " + ", ".join(sorted(STRIPE_EVENTS))},
                                   "created": {"type": "integer"},
                                   "data": {"type": "object", "required": ["object"]}}},
}


def _post(summary: str, schema: str, security: str, ok: str, ok_text: str, *errors: int) -> dict[str, Any]:
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": _REF + schema}}}}
    return {"post": {"summary": summary, "security": [{security: []}], "requestBody": body,
                     "responses": {ok: _json("Accepted", ok_text), **_errors(*errors)}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "concord event gateway", "version": "1",
             "description": "Publish events to concord's bus; receive Stripe webhooks and Zuora callouts. "
                            "A 2xx answer means the event is durably on the bus."},
    "paths": {
        "/events": _post("Publish a canonical envelope", "Envelope", "apiKey", "202",
                         "On the bus (or a repeat of an accepted eventId: the original answer)",
                         400, 401, 403, 409, 500, 503),
        "/webhooks/stripe": _post("Receive a Stripe webhook event", "StripeEvent", "stripeSignature", "200",
                                  "On the bus, a redelivery, or an event type concord ignores",
                                  400, 409, 500, 503),
        "/webhooks/zuora": _post("Receive a Zuora callout", "ZuoraCallout", "basicAuth", "200",
                                 "On the bus, or a repeat (Zuora counts only 200 as delivered)",
                                 400, 401, 409, 500, 503),
        "/health": {"get": {"summary": "Liveness", "security": [],
                            "responses": {"200": {"description": "The function answers"}}}},
        "/openapi.json": {"get": {"summary": "This document", "security": [],
                                  "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
    "components": {
        "schemas": _SCHEMAS,
        "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key",
                       "description": "Per source: fixes the `source` and `eventName`s it may publish"},
            "stripeSignature": {"type": "apiKey", "in": "header", "name": "Stripe-Signature",
                                "description": "t=<unix>,v1=<hex HMAC-SHA256 of 't.body'>; 300 s tolerance"},
            "basicAuth": {"type": "http", "scheme": "basic", "description": "concord's callout secret"},
        },
    },
}
