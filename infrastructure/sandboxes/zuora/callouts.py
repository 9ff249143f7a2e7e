"""Callout notifications: an HTTP POST to the tenant's callout URL for each event (VENDORS §2 Callouts).

Zuora's callout body is whatever the tenant's template makes of merge fields; concord documents the
template below (DESIGN §4), so the sandbox sends exactly:
    {"eventType", "objectType", "objectId", "accountId", "accountNumber", "eventTime"}
with HTTP basic auth and a `Zuora-Request-Id` header that is new on every attempt, retried on a
non-2xx answer or a transport error. The drop/duplicate event faults apply. Delivery runs on one
background thread, in order, so a slow receiver never slows the API.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from infrastructure.sandboxes.base import Sandbox


class Callouts:
    def __init__(self, sandbox: Sandbox, url: str | None, user: str | None, password: str | None, *,
                 retries: int = 3, retry_delay_s: float = 0.2) -> None:
        self.sandbox, self.url = sandbox, url
        self.auth: httpx.BasicAuth | None = httpx.BasicAuth(user or "", password or "") if user or password else None
        self.retries, self.retry_delay_s = retries, retry_delay_s
        self.log: list[dict[str, Any]] = []  # one row per delivery attempt, for tests and operators
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def emit(self, event_type: str, object_type: str, object_id: str, account: dict[str, Any],
             event_time: str | None = None) -> None:
        """Queue one callout. `event_time` is the object's UpdatedDate, as docs/zuora-callout.md asks
        templates to send: concord deduplicates on objectId + eventType + eventTime."""
        now = datetime.fromtimestamp(self.sandbox.clock.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"eventType": event_type, "objectType": object_type, "objectId": object_id,
                "accountId": account["id"], "accountNumber": account["accountNumber"], "eventTime": event_time or now}
        faults = self.sandbox.faults
        if self.sandbox.chance(faults.drop_event_rate):
            self.sandbox.stats["fault:drop_event"] += 1
            self._record(body, 0, None, "dropped (fault)")
            return
        copies = 2 if self.sandbox.chance(faults.duplicate_event_rate) else 1
        if copies == 2:
            self.sandbox.stats["fault:duplicate_event"] += 1
        for _ in range(copies):
            self._queue.put(body)
        self._ensure_worker()

    def drain(self, timeout_s: float) -> bool:
        """Wait until every queued callout was attempted; False on timeout."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout_s)

    def _ensure_worker(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="zuora-callouts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while True:
                body = self._queue.get()
                try:
                    if body is None:
                        return
                    self._deliver(client, body)
                finally:
                    self._queue.task_done()

    def _deliver(self, client: httpx.Client, body: dict[str, Any]) -> None:
        if self.url is None:
            self._record(body, 0, None, "no callout URL configured")
            return
        for attempt in range(1, self.retries + 2):
            request_id = uuid.uuid4().hex  # new on every retry, as Zuora does
            headers = {"Zuora-Request-Id": request_id, "X-Amzn-Trace-Id": f"Root=1-{uuid.uuid4().hex[:24]}"}
            try:
                auth = self.auth or httpx.USE_CLIENT_DEFAULT
                status: int | None = client.post(self.url, json=body, headers=headers, auth=auth).status_code
                error = None
            except httpx.HTTPError as exc:
                status, error = None, type(exc).__name__
            self._record(body, attempt, status, error, request_id)
            if status is not None and 200 <= status < 300:
                return
            if attempt <= self.retries:
                time.sleep(self.retry_delay_s * 2 ** (attempt - 1))

    def _record(self, body: dict[str, Any], attempt: int, status: int | None, error: str | None,
                request_id: str | None = None) -> None:
        with self._lock:
            self.log.append({"body": body, "attempt": attempt, "status": status, "error": error,
                             "requestId": request_id})

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
