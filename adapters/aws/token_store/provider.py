"""SsmTokenProvider: the TokenProvider every vendor client uses in production (DESIGN §2.5).

    token(system)          in-process cache (ttl_s) -> extension (its own TTL) or boto3
    invalidate(system, r)  after a 401 on token r: a direct SSM read, bypassing both caches;
                           a different token there -> use it (the access manager already refreshed);
                           still r (or none)       -> refresh under the lease: one instance asks the
                           access manager (request_refresh) while the others poll SSM until it changes.

A lease holder that crashes leaves a lease that expires; a waiter whose deadline passes raises
RetryableError (the message goes back to its queue) instead of waiting forever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.aws.lease import Lease
from adapters.aws.token_store.codec import decode_token, token_parameter
from adapters.aws.token_store.reader import ParameterReader
from adapters.logging import register_secret
from application.access import StoredToken
from application.errors import IntegrationError, RetryableError
from domain.errors import ValidationError

logger = logging.getLogger("concord.tokens")


class SsmTokenProvider:
    def __init__(self, ssm_client: Any, stage: str, *, lease: Lease, request_refresh: Callable[[str], None],
                 extension_port: int | None = None, ttl_s: float = 60.0, http: httpx.Client | None = None,
                 wait_s: float = 20.0, poll_s: float = 0.25, monotonic: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._reader = ParameterReader(ssm_client, extension_port=extension_port, http=http)
        self._stage = stage
        self._lease, self._request_refresh = lease, request_refresh
        self._ttl_s, self._wait_s, self._poll_s = ttl_s, wait_s, poll_s
        self._monotonic, self._now, self._sleep = monotonic, now, sleep
        self._cache: dict[str, tuple[StoredToken, float]] = {}
        self._lock = threading.Lock()
        self.refreshes_requested = 0

    def token(self, system: str) -> str:
        return self.details(system).access_token

    def details(self, system: str) -> StoredToken:
        """The whole stored token (Salesforce needs its `instance_url`)."""
        cached = self._from_cache(system)
        if cached is not None:
            return cached
        stored = self._decode(system, self._reader.cached(token_parameter(self._stage, system)))
        if stored is None or stored.expires_at <= self._now():
            return self._refresh_and_wait(system, None if stored is None else stored.access_token)
        return self._remember(system, stored)

    def invalidate(self, system: str, rejected: str) -> str:
        with self._lock:
            self._cache.pop(system, None)
        stored = self._read_direct(system)
        if stored is not None and stored.access_token != rejected:
            return self._remember(system, stored).access_token
        return self._refresh_and_wait(system, rejected).access_token

    # -- the refresh under a lease ------------------------------------------------------------
    def _refresh_and_wait(self, system: str, rejected: str | None) -> StoredToken:
        name = f"token-refresh/{system}"
        deadline = self._monotonic() + self._wait_s
        while self._monotonic() < deadline:
            stored = self._read_direct(system)
            if stored is not None and stored.access_token != rejected:
                return self._remember(system, stored)
            if self._lease.acquire(name):
                try:
                    return self._refresh_as_holder(system, rejected, deadline)
                finally:
                    self._lease.release(name)
            self._sleep(self._poll_s)
        raise RetryableError(f"no new {system} token within {self._wait_s:.0f} s", system=system,
                             code="TOKEN_REFRESH_TIMEOUT")

    def _refresh_as_holder(self, system: str, rejected: str | None, deadline: float) -> StoredToken:
        # Re-read under the lease: the previous holder may have finished between our read and acquire.
        stored = self._read_direct(system)
        if stored is None or stored.access_token == rejected:
            logger.info("requesting an on-demand token refresh", extra={"system": system})
            self.refreshes_requested += 1
            try:
                self._request_refresh(system)
            except IntegrationError:
                raise
            except Exception as exc:
                raise RetryableError(f"on-demand {system} token refresh failed: {type(exc).__name__}",
                                     system=system, code="REFRESH_FAILED") from exc
            stored = self._poll_until_new(system, rejected, deadline)
        return self._remember(system, stored)

    def _poll_until_new(self, system: str, rejected: str | None, deadline: float) -> StoredToken:
        """request_refresh may be asynchronous (an invoked Lambda): wait for its write to land."""
        while True:
            stored = self._read_direct(system)
            if stored is not None and stored.access_token != rejected:
                return stored
            if self._monotonic() >= deadline:
                raise RetryableError(f"{system} token unchanged after an on-demand refresh", system=system,
                                     code="TOKEN_REFRESH_TIMEOUT")
            self._sleep(self._poll_s)

    # -- reads and the in-process cache -------------------------------------------------------
    def _read_direct(self, system: str) -> StoredToken | None:
        return self._decode(system, self._reader.direct(token_parameter(self._stage, system)))

    def _decode(self, system: str, value: str | None) -> StoredToken | None:
        if value is None:
            return None
        try:
            stored = decode_token(value)
        except ValidationError as exc:
            # A corrupt value is as good as none: the refresh path rewrites it. The value is never logged.
            logger.warning("stored token unreadable", extra={"system": system, "field": exc.field})
            return None
        register_secret(stored.access_token)
        return stored

    def _from_cache(self, system: str) -> StoredToken | None:
        with self._lock:
            entry = self._cache.get(system)
        if entry is None:
            return None
        stored, until = entry
        if self._monotonic() >= until or stored.expires_at <= self._now():
            return None
        return stored

    def _remember(self, system: str, stored: StoredToken) -> StoredToken:
        with self._lock:
            self._cache[system] = (stored, self._monotonic() + self._ttl_s)
        return stored
