"""Change Data Capture and platform events, delivered as Event Relay delivers them to EventBridge.

Envelope (VENDORS §1.6): the standard EventBridge fields, `detail-type` = the event's API name,
`source` = `aws.partner/salesforce.com/<orgId>/<channelId>`, the Salesforce event under
`detail.payload`. Events leave on a background thread in commit order (the relay is asynchronous);
`flush()` waits for the queue to drain. Drop and duplicate faults apply here.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from infrastructure.sandboxes.salesforce.schema import SCHEMAS
from infrastructure.sandboxes.salesforce.store import Change

log = logging.getLogger(__name__)
Envelope = dict[str, Any]
_ADDRESS_PARTS = {"Street": "Street", "City": "City", "State": "State", "PostalCode": "PostalCode",
                  "Country": "Country", "StateCode": "StateCode", "CountryCode": "CountryCode"}
# System fields that never appear in a change event body (the record id travels in recordIds).
_NOT_IN_EVENTS = {"Id", "IsDeleted", "SystemModstamp"}


def to_event_fields(obj: str, values: dict[str, Any]) -> dict[str, Any]:
    """Record values in change-event form: address parts nested under BillingAddress/ShippingAddress."""
    body: dict[str, Any] = {}
    for name in SCHEMAS[obj]:
        if name in _NOT_IN_EVENTS:
            continue
        compound = _compound_of(name)
        if compound is None:
            body[name] = values.get(name)
            continue
        nested = body.setdefault(compound[0], {"Latitude": None, "Longitude": None, "GeocodeAccuracy": None})
        nested[compound[1]] = values.get(name)
    for key, nested in list(body.items()):
        if isinstance(nested, dict) and all(v is None for v in nested.values()):
            body[key] = None  # an empty compound field is null as a whole
    return body


def _compound_of(name: str) -> tuple[str, str] | None:
    for prefix in ("Billing", "Shipping"):
        part = name.removeprefix(prefix)
        if name.startswith(prefix) and part in _ADDRESS_PARTS:
            return f"{prefix}Address", part
    return None


def event_field_name(name: str) -> str:
    """`BillingCity` -> `BillingAddress.City`: how changedFields names a compound component."""
    compound = _compound_of(name)
    return f"{compound[0]}.{compound[1]}" if compound else name


def change_payload(change: Change, header: dict[str, Any]) -> dict[str, Any]:
    """The CDC payload: the header plus every field of the event schema, null where unchanged."""
    if change.change_type == "DELETE":
        return {"ChangeEventHeader": header}
    full = to_event_fields(change.obj, change.values)
    if change.change_type == "CREATE":
        return {"ChangeEventHeader": header, **full}
    body: dict[str, Any] = dict.fromkeys(full)
    for name in change.changed:
        compound = _compound_of(name)
        if compound is None:
            body[name] = change.values.get(name)
            continue
        nested = body.get(compound[0]) or dict.fromkeys([*_ADDRESS_PARTS, "Latitude", "Longitude", "GeocodeAccuracy"])
        nested[compound[1]] = change.values.get(name)
        body[compound[0]] = nested
    return {"ChangeEventHeader": header, **body}


def make_header(change: Change, *, origin: str, transaction_key: str, sequence: int, commit_number: int,
                commit_ms: int, user_id: str) -> dict[str, Any]:
    return {"entityName": change.obj, "recordIds": [change.record_id], "changeType": change.change_type,
            "changedFields": [event_field_name(n) for n in change.changed],
            "nulledFields": [event_field_name(n) for n in change.nulled], "diffFields": [],
            "changeOrigin": origin, "transactionKey": transaction_key, "sequenceNumber": sequence,
            "commitTimestamp": commit_ms, "commitNumber": commit_number, "commitUser": user_id}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default)


class Emitter:
    """Wraps each event in the relay's envelope and hands it to `sink` on a background thread."""

    def __init__(self, sink: Callable[[Envelope], None] | None, *, org_id: str, region: str = "us-east-1",
                 account: str = "123456789012", chance: Callable[[str], bool] = lambda _kind: False) -> None:
        self.sink, self.org_id, self.region, self.account, self.chance = sink, org_id, region, account, chance
        self.channel_id = "0YL5g000000Concord"
        self.recent: deque[Envelope] = deque(maxlen=2000)
        self.stats = {"emitted": 0, "dropped": 0, "duplicated": 0, "sink_errors": 0}
        self._queue: queue.Queue[Envelope | threading.Event] = queue.Queue()
        self._replay = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._deliver, name="salesforce-relay", daemon=True).start()

    @property
    def source(self) -> str:
        return f"aws.partner/salesforce.com/{self.org_id}/{self.channel_id}"

    def envelope(self, detail_type: str, payload: dict[str, Any]) -> Envelope:
        with self._lock:
            self._replay += 1
            replay = self._replay
        payload = json.loads(dumps(payload))  # numbers as JSON numbers, as the relay serialises them
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": self.source,
                "account": self.account, "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region, "resources": [],
                "detail": {"payload": payload, "schemaId": f"sandbox-{detail_type}", "id": str(uuid.uuid4()),
                           "replayId": str(replay)}}

    def emit(self, envelope: Envelope) -> None:
        if self.chance("drop"):
            self.stats["dropped"] += 1
            return
        copies = 2 if self.chance("duplicate") else 1
        self.stats["duplicated"] += copies - 1
        for _ in range(copies):  # a duplicate is the same envelope delivered again (same id)
            self.stats["emitted"] += 1
            self.recent.append(envelope)
            self._queue.put(envelope)

    def flush(self, timeout_s: float = 5.0) -> None:
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout_s)

    def _deliver(self) -> None:
        while True:
            envelope = self._queue.get()
            if isinstance(envelope, threading.Event):
                envelope.set()
                continue
            if self.sink is None:
                continue
            try:
                self.sink(envelope)
            except Exception:  # the relay retries on its side; the sandbox records and moves on
                self.stats["sink_errors"] += 1
                log.exception("salesforce sandbox: event sink failed")
