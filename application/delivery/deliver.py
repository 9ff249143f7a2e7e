"""Deliver one envelope to every destination subscribed to its eventName (DESIGN §2.3).

Per destination: rate limit, sign, authenticate, POST, and retry retryable answers with backoff
(a Retry-After wins). After the loop:
    every destination done (or done before: the ledger)  -> return the ids delivered now
    any retryable failure left                            -> RetryableError (the message comes back)
    only permanent failures                               -> PermanentError (DLQ with the reason)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from application.delivery.auth import AuthHeaders
from application.delivery.ports import (
    Backoff,
    DeliveryLedger,
    DeliverySender,
    Destination,
    DestinationDirectory,
    RateLimiter,
    SecretReader,
    SendResult,
)
from application.delivery.signing import HEADER, signature_header
from application.errors import IntegrationError, PermanentError, RetryableError
from application.ports import Clock
from domain.envelope import Envelope

log = logging.getLogger(__name__)


@dataclass
class Deliverer:
    directory: DestinationDirectory
    sender: DeliverySender
    secrets: SecretReader
    limiter: RateLimiter
    backoff: Backoff
    clock: Clock
    sleep: Callable[[float], None]
    ledger: DeliveryLedger | None = None
    # A longer wait is not spent inside the function (it bills, and may outlive its timeout): the message
    # goes back to the queue instead, and SQS brings it again later.
    max_wait_s: float = 5.0

    def __post_init__(self) -> None:
        self._auth = AuthHeaders(self.sender, self.secrets, self.clock)

    def deliver(self, envelope: Envelope) -> list[str]:
        body = envelope.to_json().encode("utf-8")
        event_id = envelope.metadata.eventId
        delivered: list[str] = []
        failures: list[tuple[Destination, IntegrationError]] = []
        for destination in self.directory.subscribed_to(envelope.metadata.eventName):
            if self.ledger is not None and self.ledger.delivered(event_id, destination.id):
                continue  # a retry of this message: that destination has it already
            try:
                self._deliver_one(destination, envelope, body)
            except IntegrationError as exc:
                log.warning("delivery of %s to %s failed: %s", event_id, destination.name, exc)
                failures.append((destination, exc))
                continue
            delivered.append(destination.id)
            if self.ledger is not None:
                self.ledger.mark_delivered(event_id, destination.id)
        _raise_for(failures)
        return delivered

    def _deliver_one(self, destination: Destination, envelope: Envelope, body: bytes) -> None:
        attempt = 0
        refreshed = False
        while True:
            self.limiter.acquire(destination.id, destination.rate_per_s)
            failure: RetryableError | PermanentError | None
            try:
                result = self.sender.post(destination.url, body, self._headers(destination, envelope, body))
            except RetryableError as exc:  # no answer: the same eventId (Idempotency-Key) goes again
                failure = exc
            else:
                if result.status == 401 and destination.auth_kind == "oauth" and not refreshed:
                    self._auth.forget(destination)  # the cached token expired early or was revoked: once
                    refreshed = True
                    continue
                failure = classify(destination, result)
                if failure is None:
                    return
            if isinstance(failure, PermanentError) or attempt + 1 >= self.backoff.max_attempts:
                raise failure
            delay = self.backoff.delay(attempt, failure.retry_after)
            if delay > self.max_wait_s:
                raise failure
            self.sleep(delay)
            attempt += 1

    def _headers(self, destination: Destination, envelope: Envelope, body: bytes) -> dict[str, str]:
        if not destination.signing_secrets:
            raise PermanentError(f"{destination.name} has no signing secret", system=destination.name,
                                 code="NO_SIGNING_SECRET", field="signing_secrets")
        timestamp = int(self.clock.now().timestamp())  # signed per attempt: receivers check freshness
        return {
            "Content-Type": "application/json",
            "User-Agent": "concord-delivery/1",
            HEADER: signature_header(body, destination.signing_secrets, timestamp),
            "Concord-Event-Id": envelope.metadata.eventId,
            "Concord-Event-Name": envelope.metadata.eventName,
            "Idempotency-Key": envelope.metadata.eventId,
            **self._auth.headers(destination),
        }


def classify(destination: Destination, result: SendResult) -> RetryableError | PermanentError | None:
    status = result.status
    if 200 <= status < 300:
        return None
    message = f"{destination.name} answered {status}: {result.excerpt[:200]}"
    if status in (408, 425, 429) or status >= 500:
        return RetryableError(message, system=destination.name, code=str(status),
                              retry_after=result.retry_after)
    if 300 <= status < 400:
        return PermanentError(f"{message} (redirects are not followed: register the final URL)",
                              system=destination.name, code=str(status))
    return PermanentError(message, system=destination.name, code=str(status))


def _raise_for(failures: Sequence[tuple[Destination, IntegrationError]]) -> None:
    if not failures:
        return
    reason = "; ".join(f"{d.name} ({d.id}): {e.message}" for d, e in failures)
    retryable = [e for _, e in failures if isinstance(e, RetryableError)]
    if retryable:
        hints = [e.retry_after for e in retryable if e.retry_after is not None]
        raise RetryableError(f"delivery incomplete: {reason}", system="delivery",
                             retry_after=max(hints) if hints else None)
    raise PermanentError(f"delivery failed: {reason}", system="delivery", code="DELIVERY_FAILED")
