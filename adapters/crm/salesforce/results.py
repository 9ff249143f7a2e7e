"""Per-record results of sObject Collections and per-subrequest results of Composite.

Both answer HTTP 200 at the top whatever happened (VENDORS §0 #4): success is read per item.
Collections put `statusCode` (not `errorCode`) in each record's errors; Composite subrequests carry
their own `httpStatusCode` and a REST error array as body.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.crm.salesforce.client import error_entries, to_error
from application.errors import IntegrationError, PermanentError


@dataclass(frozen=True)
class RecordResult:
    id: str | None
    success: bool
    created: bool | None = None
    error: IntegrationError | None = None


def record_results(body: Any, expected: int) -> list[RecordResult]:
    """One RecordResult per record sent, in request order."""
    if not isinstance(body, list) or len(body) != expected:
        raise PermanentError(f"salesforce collections answered {len(body) if isinstance(body, list) else body!r}"
                             f" results for {expected} records", system="salesforce", code="BAD_RESULTS")
    results = []
    for item in body:
        if not isinstance(item, Mapping):
            raise PermanentError("salesforce collections result is not an object", system="salesforce",
                                 code="BAD_RESULTS")
        success = item.get("success") is True
        errors = [e for e in item.get("errors") or [] if isinstance(e, Mapping)]
        error = None if success else to_error(400, errors, "record failed")
        created = item.get("created")
        results.append(RecordResult(item.get("id"), success, created if isinstance(created, bool) else None, error))
    return results


@dataclass(frozen=True)
class SubResult:
    reference_id: str
    status: int
    body: Any
    error: IntegrationError | None


def composite_results(body: Any) -> list[SubResult]:
    items = body.get("compositeResponse") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        raise PermanentError("salesforce composite answer has no compositeResponse", system="salesforce",
                             code="BAD_RESULTS")
    results = []
    for item in items:
        status = int(item.get("httpStatusCode", 0)) if isinstance(item, Mapping) else 0
        sub_body = item.get("body") if isinstance(item, Mapping) else None
        error = to_error(status, error_entries(sub_body), str(sub_body)) if status >= 300 else None
        results.append(SubResult(str(item.get("referenceId", "")) if isinstance(item, Mapping) else "", status,
                                 sub_body, error))
    return results
