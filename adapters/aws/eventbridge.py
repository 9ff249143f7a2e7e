"""EventBridgePublisher: the EventPublisher port over PutEvents (DESIGN §4, docs/bus-contract.md).

Source = metadata.source, DetailType = metadata.eventName, Detail = the whole canonical envelope.
PutEvents takes at most 10 entries whose sizes (Source + DetailType + Detail bytes, per AWS's
"Calculating PutEvents event entry size") add up to less than 256 KB. A 200 answer can still carry
failed entries (`FailedEntryCount`, an `ErrorCode` per entry): only those are sent again, with backoff,
a bounded number of times. `publish` returns only once every entry is accepted; otherwise it raises,
naming the entries, so the caller's message returns to its queue. Nothing is dropped.

A retried entry may reach the bus twice (EventBridge has no idempotency key): consumers dedupe on
`metadata.eventId`, as they must anyway for at-least-once delivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.aws.lease import AwsFailure, aws_error
from adapters.outbound import RetryPolicy
from application.errors import PermanentError, RetryableError

MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024  # the sum of entry sizes must stay below this
# Per-entry codes that a retry can fix; anything else (MalformedDetail, NotAuthorizedForSourceException,
# AccessDeniedException, ...) will fail the same way again.
RETRYABLE_ENTRY_CODES = frozenset({"InternalFailure", "InternalException", "ThrottlingException",
                                   "ServiceUnavailable", "ServiceUnavailableException"})


def to_entry(envelope: Mapping[str, Any], bus_name: str) -> dict[str, str]:
    """The PutEvents entry for one canonical envelope; PermanentError names a missing field."""
    metadata = envelope.get("metadata")
    if not isinstance(metadata, Mapping):
        raise PermanentError("envelope has no metadata object", system="eventbridge", field="metadata")
    fields = {}
    for name in ("source", "eventName"):
        value = metadata.get(name)
        if not isinstance(value, str) or not value:
            raise PermanentError(f"metadata.{name}: field required", system="eventbridge",
                                 field=f"metadata.{name}")
        fields[name] = value
    try:
        detail = json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise PermanentError(f"envelope is not JSON-serialisable: {exc}", system="eventbridge",
                             field="data") from exc
    return {"Source": fields["source"], "DetailType": fields["eventName"], "Detail": detail,
            "EventBusName": bus_name}


def entry_size(entry: Mapping[str, Any]) -> int:
    """AWS's formula: Time is 14 bytes; Source, DetailType, Detail and each Resource their UTF-8 bytes."""
    size = 14 if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        size += len(str(entry.get(name) or "").encode("utf-8"))
    return size + sum(len(str(r).encode("utf-8")) for r in entry.get("Resources") or ())


def plan_batches(entries: Sequence[dict[str, Any]], *, max_entries: int = MAX_ENTRIES,
                 max_bytes: int = MAX_REQUEST_BYTES) -> list[list[dict[str, Any]]]:
    """Split entries, in order, into requests of at most `max_entries` whose sizes sum below `max_bytes`."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_bytes = 0
    for entry in entries:
        size = entry_size(entry)
        if size >= max_bytes:
            raise PermanentError(f"event {_describe(entry)} is {size} bytes; EventBridge takes under "
                                 f"{max_bytes}", system="eventbridge", field="detail")
        if current and (len(current) >= max_entries or current_bytes + size >= max_bytes):
            batches.append(current)
            current, current_bytes = [], 0
        current.append(entry)
        current_bytes += size
    if current:
        batches.append(current)
    return batches


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str, *, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._bus_name = bus_name
        self._retry = retry or RetryPolicy(max_attempts=5, base_delay_s=0.1, max_delay_s=5.0)
        self._sleep = sleep

    def publish(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        entries = [to_entry(envelope, self._bus_name) for envelope in envelopes]
        for batch in plan_batches(entries):
            self._put_until_accepted(batch)

    def _put_until_accepted(self, batch: list[dict[str, Any]]) -> None:
        pending, rejected = batch, []
        for attempt in range(self._retry.max_attempts):
            if attempt:
                self._sleep(self._retry.delay(attempt - 1))
            failed = self._put(pending)
            rejected += [(e, code) for e, code in failed if code not in RETRYABLE_ENTRY_CODES]
            pending = [e for e, code in failed if code in RETRYABLE_ENTRY_CODES]
            if not pending:
                break
        if rejected:
            raise PermanentError(f"EventBridge rejected {_names(rejected)}", system="eventbridge",
                                 code=rejected[0][1])
        if pending:
            raise RetryableError(f"EventBridge did not accept {len(pending)} event(s) after "
                                 f"{self._retry.max_attempts} attempts: {', '.join(map(_describe, pending))}",
                                 system="eventbridge", code="FAILED_ENTRIES")

    def _put(self, entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
        """Send once; the entries that failed, each with its ErrorCode (a whole-call throttle fails all)."""
        try:
            response = self._client.put_events(Entries=entries)
        except AwsFailure as exc:
            error = aws_error(exc, system="eventbridge", action="PutEvents")
            if isinstance(error, RetryableError):
                return [(entry, "ThrottlingException") for entry in entries]
            raise error from exc
        results = response.get("Entries") or []
        failed = [(entry, str(result["ErrorCode"]))
                  for entry, result in zip(entries, results, strict=False) if result.get("ErrorCode")]
        # An answer shorter than the request leaves the tail unconfirmed: treat it as failed, never as sent.
        failed += [(entry, "InternalFailure") for entry in entries[len(results):]]
        return failed


def _describe(entry: Mapping[str, Any]) -> str:
    try:
        event_id = json.loads(entry.get("Detail") or "{}").get("metadata", {}).get("eventId", "?")
    except (ValueError, AttributeError):
        event_id = "?"
    return f"{entry.get('Source')}/{entry.get('DetailType')} eventId={event_id}"


def _names(failed: list[tuple[dict[str, Any], str]]) -> str:
    return ", ".join(f"{_describe(entry)} ({code})" for entry, code in failed)
