"""How a failure is classified at the adapter edge (DESIGN §3): retry it, or dead-letter it."""

from __future__ import annotations


class IntegrationError(Exception):
    """A failure talking to another system. `system` names it; `code` is the vendor's own code."""

    def __init__(self, message: str, *, system: str = "", code: str = "", field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.system = system
        self.code = code
        self.field = field


class RetryableError(IntegrationError):
    """429, 5xx, timeouts, throttling, an expired token: try again later with the same idempotency key.

    `retry_after` (seconds) is the vendor's own hint when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: str | None) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class OutcomeUnknown(RetryableError):
    """The request may or may not have taken effect (a timeout after sending). Ask again, same key."""


class PermanentError(IntegrationError):
    """Validation and other 4xx: retrying will not help; the message goes to the DLQ with this reason."""


class PriceNotSold(PermanentError):
    """Billing refused a subscription because it no longer sells a price the request names (retired,
    expired or archived since the order fixed it). Each vendor words it its own way; the adapters map it
    here, so the order can fix its prices again. `code` is canonical; the vendor's is in the message."""

    CODE = "PRICE_NOT_SOLD"

    def __init__(self, message: str, *, system: str = "", field: str | None = None) -> None:
        super().__init__(message, system=system, code=self.CODE, field=field)


class NotFound(PermanentError):
    """The other system has no such object."""


class CredentialsRevoked(PermanentError):
    """The vendor refused our credentials themselves (not an expired token): alarm, do not retry forever."""
