"""What the gateway's parts share: the client, the clock, key derivation and error translation."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from adapters.billing.stripe.client import MAX_IDEMPOTENCY_KEY, SYSTEM, StripeHttp
from application.errors import PermanentError
from domain.errors import ValidationError


def utc_today() -> date:
    return datetime.now(UTC).date()


class StripeGatewayBase:
    vendor = "stripe"

    def __init__(self, http: StripeHttp, *, today: Callable[[], date] = utc_today,
                 days_until_due: int = 30) -> None:
        self.http = http
        self.today = today
        self.days_until_due = days_until_due


@contextmanager
def mapping_errors() -> Iterator[None]:
    """Adapters raise only application errors: a canonical value Stripe cannot hold is permanent."""
    try:
        yield
    except ValidationError as exc:
        raise PermanentError(str(exc), system=SYSTEM, code="validation", field=exc.field) from exc


def subkey(key: str, step: str) -> str:
    """A key per Stripe call of one port call (one key on two endpoints is an idempotency_error)."""
    derived = f"{key}:{step}"
    if len(derived) <= MAX_IDEMPOTENCY_KEY:
        return derived
    return f"{hashlib.sha256(key.encode()).hexdigest()}:{step}"


def search_query(key: str, value: str) -> str:
    """Stripe's search language: metadata['key']:'value', quotes and backslashes escaped with a backslash."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"metadata['{key}']:'{escaped}'"
