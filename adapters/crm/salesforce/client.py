"""SalesforceHttp: the REST client (VendorHttp hooks for Salesforce's answers).

- Errors are arrays `[{message, errorCode, fields}]`; sObject Collections report per record with
  `statusCode` inside `{id, success, errors}` under a top-level 200 (see results.py).
- 401 INVALID_SESSION_ID is an expired session: the base invalidates the token and retries once.
- 403 REQUEST_LIMIT_EXCEEDED is the daily quota: throttling (retryable), never an auth failure.
- `Sforce-Limit-Info: api-usage=used/limit` is read from every answer: `api_usage`.
- Every request carries `Sforce-Call-Options: client=<id>` so the CDC echo of concord's own writes
  names concord in `changeOrigin`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx

from adapters.outbound import RetryPolicy, TokenBucket, VendorHttp, classify_status, retry_after_seconds
from application.errors import IntegrationError, NotFound, PermanentError, RetryableError
from application.ports import TokenProvider

SYSTEM = "salesforce"
_USAGE = re.compile(r"(?:^|[,\s])api-usage=(\d+)/(\d+)")
# errorCodes that mean "try again": row locks, timeouts and Salesforce's own outages.
RETRYABLE_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE",
                             "REQUEST_RUNNING_TOO_LONG", "UNKNOWN_EXCEPTION", "QUERY_TIMEOUT",
                             "ALL_OR_NONE_OPERATION_ROLLED_BACK", "TXN_SECURITY_METERING_ERROR"})


def error_entries(body: Any) -> list[Mapping[str, Any]]:
    """The entries of an error array (REST shape); anything else yields nothing."""
    if isinstance(body, list):
        return [entry for entry in body if isinstance(entry, Mapping)]
    return []


def to_error(status: int, entries: list[Mapping[str, Any]], text: str) -> IntegrationError:
    """One error for an answer's entries (`errorCode` in REST, `statusCode` in collections)."""
    first = entries[0] if entries else {}
    code = str(first.get("errorCode") or first.get("statusCode") or status)
    message = "; ".join(str(e.get("message", "")) for e in entries) or text[:300]
    fields = first.get("fields") or []
    field = str(fields[0]) if isinstance(fields, list) and fields else None
    if code in RETRYABLE_CODES or status >= 500:
        return RetryableError(f"salesforce {code}: {message}", system=SYSTEM, code=code, field=field)
    if status == 404 or code in ("NOT_FOUND", "ENTITY_IS_DELETED"):
        return NotFound(f"salesforce {code}: {message}", system=SYSTEM, code=code, field=field)
    return PermanentError(f"salesforce {code}: {message}", system=SYSTEM, code=code, field=field)


def parse_json(response: httpx.Response) -> Any:
    """The body with numbers as Decimal (amounts must round-trip exactly); empty -> None."""
    if not response.content:
        return None
    try:
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise RetryableError(f"salesforce answered {response.status_code} with a body that is not JSON",
                             system=SYSTEM, code="INVALID_JSON") from exc


class SalesforceHttp(VendorHttp):
    def __init__(self, instance_url: str, *, tokens: TokenProvider | None, api_version: str = "60.0",
                 call_client: str | None = "concord", bucket: TokenBucket | None = None,
                 retry: RetryPolicy | None = None, client: httpx.Client | None = None, timeout_s: float = 30.0,
                 **kwargs: Any) -> None:
        super().__init__(instance_url, system=SYSTEM, tokens=tokens, bucket=bucket, retry=retry, client=client,
                         timeout_s=timeout_s, **kwargs)
        self.api_version = api_version
        self.call_client = call_client
        self._usage: tuple[int, int] | None = None
        self._usage_lock = threading.Lock()

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, limit) of the org's rolling 24 h API quota, from the last Sforce-Limit-Info seen."""
        with self._usage_lock:
            return self._usage

    def data(self, suffix: str) -> str:
        return f"/services/data/v{self.api_version}/{suffix.lstrip('/')}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.call_client:
            headers.setdefault("Sforce-Call-Options", f"client={self.call_client}")
        return super().request(method, path, headers=headers, **kwargs)

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """request() and the parsed body."""
        return parse_json(self.request(method, path, **kwargs))

    # -- hooks -----------------------------------------------------------------------------
    def _observe(self, response: httpx.Response) -> None:
        match = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match is not None:
            with self._usage_lock:
                self._usage = (int(match.group(1)), int(match.group(2)))

    def _is_expired_token(self, response: httpx.Response) -> bool:
        if response.status_code != 401:
            return False
        try:
            entries = error_entries(response.json())
        except ValueError:
            return False
        return any(entry.get("errorCode") == "INVALID_SESSION_ID" for entry in entries)

    def _classify(self, response: httpx.Response) -> IntegrationError | None:
        status = response.status_code
        if status in (598, 599):
            return classify_status(SYSTEM, response)
        if status == 300:
            return PermanentError(f"salesforce: the external id matches several records: {response.text[:300]}",
                                  system=SYSTEM, code="MULTIPLE_CHOICES")
        if status < 400:
            return None
        try:
            entries = error_entries(response.json())
        except ValueError:
            entries = []
        error = to_error(status, entries, response.text)
        if isinstance(error, RetryableError):
            error.retry_after = retry_after_seconds(response)
        return error
