"""Events and their webhook deliveries, signed as Stripe signs them (VENDORS §0 #12, §3 Webhooks).

Every event is kept (GET /v1/events) and, when a webhook URL is configured, POSTed to it with
`Stripe-Signature: t=<sandbox time>,v1=<hmac>` carrying one v1 per configured secret (rotation). A
non-2xx answer or a connection failure is retried after `retry_delays_s` (Stripe retries for up to three
days; the sandbox's delays are short and configurable), each attempt signed afresh. The drop and
duplicate event faults apply per event.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from adapters.billing.stripe.webhook import sign
from infrastructure.sandboxes.stripe.store import Obj, Store

API_VERSION = "2024-06-20"


class Events:
    def __init__(self, store: Store, *, webhook_url: str | None, secrets: Sequence[str],
                 chance: Callable[[str], bool], retry_delays_s: Sequence[float] = (0.2, 0.5, 1, 2, 4, 8)) -> None:
        self.store, self.webhook_url, self.secrets = store, webhook_url, list(secrets)
        self.chance, self.retry_delays_s = chance, list(retry_delays_s)
        self.deliveries: list[dict[str, Any]] = []  # every attempt: event id, type, attempt, status
        self._due: list[tuple[float, int, str, int]] = []  # (monotonic due, seq, event id, attempt)
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def emit(self, type_: str, obj: Obj, previous: dict[str, Any] | None = None,
             request: tuple[str | None, str | None] = (None, None)) -> Obj:
        event = self.store.new("evt", "event")
        del event["metadata"]  # events carry none
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous:
            data["previous_attributes"] = copy.deepcopy(previous)
        event.update({"api_version": API_VERSION, "data": data, "pending_webhooks": 1 if self.webhook_url else 0,
                      "request": {"id": request[0], "idempotency_key": request[1]}, "type": type_})
        self.store.save(event)
        if self.webhook_url and not self.chance("drop"):
            copies = 2 if self.chance("duplicate") else 1
            for _ in range(copies):
                self._schedule(event["id"], 1, 0.0)
        return event

    def _schedule(self, event_id: str, attempt: int, delay_s: float) -> None:
        with self._wake:
            heapq.heappush(self._due, (time.monotonic() + delay_s, next(self._seq), event_id, attempt))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="stripe-webhooks", daemon=True)
                self._thread.start()
            self._wake.notify()

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while True:
                job = self._next()
                if job is None:
                    return
                self._deliver(client, *job)

    def _next(self) -> tuple[str, int] | None:
        with self._wake:
            while not self._closed:
                if self._due and self._due[0][0] <= time.monotonic():
                    _, _, event_id, attempt = heapq.heappop(self._due)
                    return event_id, attempt
                self._wake.wait(timeout=(self._due[0][0] - time.monotonic()) if self._due else None)
            return None

    def _deliver(self, client: httpx.Client, event_id: str, attempt: int) -> None:
        event = self.store.objects.get("event", {}).get(event_id)
        if event is None or self.webhook_url is None:  # forgotten by a reset meanwhile
            return
        body = json.dumps(event, indent=2).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": sign(body, self.secrets, self.store.now())}
        try:
            status = client.post(self.webhook_url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            status = 0
        self.deliveries.append({"event": event_id, "type": event["type"], "attempt": attempt, "status": status})
        if 200 <= status < 300:
            event["pending_webhooks"] = 0
        elif attempt <= len(self.retry_delays_s):
            self._schedule(event_id, attempt + 1, self.retry_delays_s[attempt - 1])

    def reset(self) -> None:
        with self._wake:
            self._due.clear()
            self.deliveries.clear()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()


def changed(before: Obj, after: Obj) -> dict[str, Any]:
    """previous_attributes: the old value of every top-level field that changed."""
    return {key: copy.deepcopy(before.get(key)) for key in after if before.get(key) != after.get(key)}
