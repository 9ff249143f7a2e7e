"""Zuora's failure bodies -> application errors, by the 8-digit code's category (last two digits).

Categories (developer.zuora.com/docs/guides/error-codes): 10 permission, 11 authentication,
20 invalid format or value, 21 unknown field, 22 missing required field, 23 missing parameter,
30 rule restriction, 40 not found, 50 locking contention, 60 internal error, 61 temporary error,
70 request exceeded limit, 90 malfunction, 99 integration error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from application.errors import IntegrationError, NotFound, PermanentError, PriceNotSold, RetryableError

SYSTEM = "zuora"
_RETRYABLE = frozenset({"50", "60", "61", "70", "90", "99"})
# A rule restriction (category 30) naming a product rate plan that is no longer effective: the catalog
# retired it (concord ends a retired version's plan, gateway_catalog.py) after the order fixed its price.
# Zuora's exact wording is not published: the sandbox says "product rate plan X is not effective on D".
_PLAN_NOT_SOLD = re.compile(r"rate ?plan\b.*\b(?:not effective|expired|no longer (?:effective|available))", re.I)
_RETRYABLE_CRUD = frozenset({"LOCK_COMPETITION", "REQUEST_EXCEEDED_LIMIT", "REQUEST_EXCEEDED_RATE",
                             "SERVER_UNAVAILABLE", "TEMPORARY_ERROR", "UNKNOWN_ERROR"})
# 'termType' value should be..., Missing required field: name, field 'x' ..., x is required
_FIELD_PATTERNS = (re.compile(r"'([A-Za-z_][\w.\[\]]*)'"), re.compile(r"field[:\s]+([A-Za-z_][\w.]*)", re.I),
                   re.compile(r"^([A-Za-z_][\w.]*) (?:is|must|cannot|should)\b"))


def field_of(message: str) -> str | None:
    """The field a Zuora message names, when it names one."""
    for pattern in _FIELD_PATTERNS:
        match = pattern.search(message)
        if match:
            return match.group(1)
    return None


def _first_reason(body: Mapping[str, Any]) -> tuple[str, str]:
    reasons = body.get("reasons") or body.get("Errors") or []
    if reasons and isinstance(reasons[0], Mapping):
        first = reasons[0]
        return str(first.get("code", first.get("Code", ""))), str(first.get("message", first.get("Message", "")))
    return "", str(body.get("message") or body.get("Message") or "no reason given")


def classify_body(body: Any) -> IntegrationError | None:
    """The error a Zuora body reports (success:false / Success:false), or None for a success."""
    if not isinstance(body, Mapping):
        return None
    failed = body.get("success") is False or body.get("Success") is False
    if not failed:
        return None
    code, message = _first_reason(body)
    text = f"zuora {code}: {message}"
    field = field_of(message)
    if code.isdigit() and len(code) == 8:
        category = code[-2:]
        if category == "40":
            return NotFound(text, system=SYSTEM, code=code, field=field)
        if category in _RETRYABLE:
            return RetryableError(text, system=SYSTEM, code=code, field=field)
        if category == "30" and _PLAN_NOT_SOLD.search(message):
            return PriceNotSold(text, system=SYSTEM, field=field)
        return PermanentError(text, system=SYSTEM, code=code, field=field)
    if code in _RETRYABLE_CRUD:
        return RetryableError(text, system=SYSTEM, code=code, field=field)
    if code == "INVALID_ID":
        return NotFound(text, system=SYSTEM, code=code, field=field)
    return PermanentError(text, system=SYSTEM, code=code, field=field)
