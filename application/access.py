"""The access manager (DESIGN §2.5): the only scheduled writer of vendor access tokens.

EventBridge Scheduler runs it every 15 minutes, and a reader that saw a 401 on an unchanged token asks
for an on-demand run (`force=True`) under a lease. A token is refreshed only when it is absent, forced,
or within `margin_s` of expiry; the margin exceeds the readers' cache TTLs (checked by the settings), so
no reader can hold a cached token past its expiry. Stripe is never minted: it uses a restricted key
kept in Secrets Manager.

A revoked credential (CredentialsRevoked) is an alarm for that one system: reported and logged with
`alert=credentials_revoked`, never retried in a loop here; the other systems are still refreshed.
No token or credential is ever logged: log lines name the system, the outcome and the error code only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from application.errors import CredentialsRevoked, IntegrationError
from application.ports import Clock

logger = logging.getLogger("concord.access")

# Systems whose credential is a long-lived key (Secrets Manager), not a token we mint.
NOT_MINTED = frozenset({"stripe"})


@dataclass(frozen=True)
class MintedToken:
    """What a vendor's auth endpoint gave: the token, its lifetime, and extras such as `instance_url`."""

    access_token: str = field(repr=False)
    lifetime_s: float
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredToken:
    """A token as the store holds it (`/concord/<stage>/tokens/<system>`)."""

    access_token: str = field(repr=False)
    issued_at: datetime
    expires_at: datetime
    instance_url: str | None = None


class TokenMinter(Protocol):
    """One system's vendor auth (Salesforce client credentials or JWT bearer, Zuora client credentials)."""

    def mint(self) -> MintedToken: ...


class TokenWriter(Protocol):
    """The token store, as its only writer sees it."""

    def current(self, system: str) -> StoredToken | None: ...

    def write(self, system: str, token: StoredToken) -> None: ...


@dataclass
class RefreshReport:
    """What one run did, per system. `alarms` are the systems an operator must look at."""

    refreshed: list[str] = field(default_factory=list)
    still_fresh: list[str] = field(default_factory=list)
    not_minted: list[str] = field(default_factory=list)
    revoked: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.revoked and not self.failed

    @property
    def alarms(self) -> list[str]:
        return sorted(self.revoked)


def needs_refresh(current: StoredToken | None, now: datetime, margin_s: float, *,
                  force: bool = False) -> bool:
    """Absent, forced, or expiring within the margin."""
    return force or current is None or current.expires_at - now <= timedelta(seconds=margin_s)


def refresh_tokens(systems: Iterable[str], minters: Mapping[str, TokenMinter], writer: TokenWriter,
                   clock: Clock, margin_s: float, *, force: bool = False) -> RefreshReport:
    """Refresh every system's token that needs it; one system's failure never stops the others."""
    report = RefreshReport()
    for system in systems:
        if system in NOT_MINTED:
            report.not_minted.append(system)
            continue
        try:
            _refresh_one(system, minters, writer, clock, margin_s, force, report)
        except CredentialsRevoked as exc:
            report.revoked[system] = _describe(exc)
            logger.error("credentials revoked: token refresh stopped for this system",
                         extra={"alert": "credentials_revoked", "system": system, "code": exc.code})
        except Exception as exc:  # a bulkhead: a bug or outage in one vendor must not starve the others
            report.failed[system] = _describe(exc)
            logger.warning("token refresh failed", extra={"system": system, "error": type(exc).__name__,
                                                          "code": getattr(exc, "code", "")})
    return report


def _refresh_one(system: str, minters: Mapping[str, TokenMinter], writer: TokenWriter, clock: Clock,
                 margin_s: float, force: bool, report: RefreshReport) -> None:
    minter = minters.get(system)
    if minter is None:
        raise IntegrationError(f"no token minter configured for {system}", system=system, code="NO_MINTER")
    now = clock.now()
    if not needs_refresh(writer.current(system), now, margin_s, force=force):
        report.still_fresh.append(system)
        return
    minted = minter.mint()
    token = StoredToken(access_token=minted.access_token, issued_at=now,
                        expires_at=now + timedelta(seconds=minted.lifetime_s),
                        instance_url=minted.extra.get("instance_url"))
    writer.write(system, token)
    report.refreshed.append(system)
    logger.info("token refreshed", extra={"system": system, "expires_at": token.expires_at.isoformat(),
                                          "forced": force})


def _describe(exc: Exception) -> str:
    """The error class and code; the message too for our own errors (they never carry secrets)."""
    if isinstance(exc, IntegrationError):
        return f"{type(exc).__name__} [{exc.code}]: {exc.message}"
    return type(exc).__name__
