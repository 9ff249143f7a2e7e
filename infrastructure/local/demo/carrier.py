"""A carrier: an HTTP-only external system on 127.0.0.1. It receives concord's signed deliveries,
checks `Concord-Signature` itself (t=<unix>,v1=<hex HMAC-SHA256 of "t.body">, 300 s tolerance) and
answers 401 to anything unsigned or forged; it publishes back through the gateway's POST /events."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def signature_valid(body: bytes, header: str, secret: str, *, now: float, tolerance_s: float = 300) -> bool:
    parts = [p.split("=", 1) for p in header.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    signatures = [v for k, v in parts if k == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s) for s in signatures)


class Carrier:
    def __init__(self) -> None:
        self.secret = ""  # the destination's signing secret, given once at registration
        self.received: list[dict[str, Any]] = []
        self.refused = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="carrier", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/concord-events"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def accept(self, body: bytes, header: str) -> int:
        if not self.secret or not signature_valid(body, header, self.secret, now=time.time()):
            self.refused += 1
            return 401
        self.received.append(json.loads(body))
        return 200

    def delivered(self, event_name: str, crm_id: str) -> dict[str, Any] | None:
        for envelope in self.received:
            if envelope["metadata"]["eventName"] == event_name and envelope["data"].get("crmId") == crm_id:
                return envelope
        return None

    @staticmethod
    def publish(
        gateway: str, api_key: str, order_crm_id: str, shipment: str, correlation_id: str
    ) -> httpx.Response:
        envelope = {
            "metadata": {
                "source": "com.example.carrier",
                "eventName": "ShipmentConfirmed",
                "eventSchemaVersion": "1",
                "eventId": str(uuid.uuid4()),
                "correlationId": correlation_id,
                "occurredAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "data": {
                "shipment": shipment,
                "orderId": order_crm_id,
                # entity:crmId:system:externalId (the system defaults to our source): EventBridge routes
                # on data.links only when it holds leaf values, so links are strings, not objects.
                "links": [f"order:{order_crm_id}::{shipment}"],
            },
        }
        return httpx.post(f"{gateway}/events", json=envelope, headers={"x-api-key": api_key}, timeout=30)


def _handler(carrier: Carrier) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status = carrier.accept(body, self.headers.get("Concord-Signature", ""))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
