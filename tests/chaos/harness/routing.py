"""The bus of the chaos run: the rules of docs/bus-contract.md routing events to the service queues,
and the event gateway's webhook route in front of it for the billing vendor's sandbox to call.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from application.gateway.ports import IdempotencyInProgress, StoredResponse
from tests.chaos.harness.queues import SimQueue

SALESFORCE_QUEUES = {
    "AccountChangeEvent": "account",
    "OrderChangeEvent": "order",
    "OrderItemChangeEvent": "order",
    "Product2ChangeEvent": "product",
    "PricebookEntryChangeEvent": "product",
}
BILLING_QUEUES = {
    "AccountChanged": "account",
    "PaymentFailed": "account",
    "PaymentProcessed": "account",
    "SubscriptionChanged": "order",
}


class Bus:
    """EventBridge as the service queues see it: rules by source and detail-type, at-least-once."""

    def __init__(self, queues: Mapping[str, SimQueue]) -> None:
        self.queues = queues
        self.routed: Counter[str] = Counter()

    def relay(self, event: dict[str, Any]) -> None:
        """Salesforce Event Relay's envelope, forwarded unchanged from the partner bus."""
        queue = SALESFORCE_QUEUES.get(str(event.get("detail-type")))
        if queue is not None:
            self.routed[queue] += 1
            self.queues[queue].send(event)

    def publish(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        """The EventPublisher port: canonical envelopes become EventBridge events (detail = envelope)."""
        for envelope in envelopes:
            metadata = envelope["metadata"]
            queue = (
                BILLING_QUEUES.get(metadata["eventName"]) if metadata["source"] == "concord.billing" else None
            )
            if queue is None:
                continue
            self.routed[queue] += 1
            self.queues[queue].send(
                {
                    "version": "0",
                    "id": str(uuid.uuid4()),
                    "source": metadata["source"],
                    "detail-type": metadata["eventName"],
                    "detail": dict(envelope),
                }
            )


class MemoryEventIdempotency:
    """The gateway's eventId table (DynamoDB in production), in memory."""

    def __init__(self) -> None:
        self._stored: dict[str, StoredResponse | None] = {}
        self._lock = threading.Lock()
        self.repeats = 0

    def begin(self, key: str) -> StoredResponse | None:
        with self._lock:
            if key not in self._stored:
                self._stored[key] = None
                return None
            stored = self._stored[key]
            if stored is None:
                raise IdempotencyInProgress(key)
            self.repeats += 1
            return stored

    def complete(self, key: str, response: StoredResponse) -> None:
        with self._lock:
            self._stored[key] = response

    def release(self, key: str) -> None:
        with self._lock:
            self._stored.pop(key, None)


class WebhookEndpoint:
    """The event gateway's webhook route for one vendor, served for its sandbox to call. `accept` runs
    the real use case (handle_zuora_callout, handle_stripe_webhook) and answers the HTTP status."""

    def __init__(self, accept: Callable[[bytes, Any], int], bus: Bus) -> None:
        self.accept, self.bus, self.idempotency = accept, bus, MemoryEventIdempotency()
        self.answers: Counter[int] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-endpoint", daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = endpoint.accept(body, self.headers)
                endpoint.answers[status] += 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
