"""The access manager (application/access.py) with fakes: who is refreshed, when, and what is reported."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.access import MintedToken, StoredToken, needs_refresh, refresh_tokens
from application.errors import CredentialsRevoked, RetryableError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
MARGIN_S = 900


@dataclass
class FakeClock:
    at: datetime = T0

    def now(self) -> datetime:
        return self.at


@dataclass
class FakeMinter:
    tokens: list[str]
    lifetime_s: float = 3599
    extra: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None
    calls: int = 0

    def mint(self) -> MintedToken:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return MintedToken(self.tokens.pop(0), self.lifetime_s, self.extra)


@dataclass
class FakeWriter:
    stored: dict[str, StoredToken] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)

    def current(self, system: str) -> StoredToken | None:
        return self.stored.get(system)

    def write(self, system: str, token: StoredToken) -> None:
        self.stored[system] = token
        self.writes.append(system)


def stored(token: str, expires_in_s: float, now: datetime = T0) -> StoredToken:
    return StoredToken(token, issued_at=now - timedelta(hours=1),
                       expires_at=now + timedelta(seconds=expires_in_s))


def test_an_absent_token_is_minted_and_stored_with_its_expiry_and_instance_url() -> None:
    minter = FakeMinter(["sf-1"], lifetime_s=7200, extra={"instance_url": "https://acme.my.salesforce.com"})
    writer = FakeWriter()
    report = refresh_tokens(["salesforce"], {"salesforce": minter}, writer, FakeClock(), MARGIN_S)
    assert report.refreshed == ["salesforce"] and report.ok
    token = writer.stored["salesforce"]
    assert token.access_token == "sf-1"
    assert token.issued_at == T0 and token.expires_at == T0 + timedelta(seconds=7200)
    assert token.instance_url == "https://acme.my.salesforce.com"


def test_a_token_far_from_expiry_is_left_alone() -> None:
    minter = FakeMinter(["new"])
    writer = FakeWriter({"zuora": stored("old", MARGIN_S + 60)})
    report = refresh_tokens(["zuora"], {"zuora": minter}, writer, FakeClock(), MARGIN_S)
    assert report.still_fresh == ["zuora"] and report.refreshed == []
    assert minter.calls == 0 and writer.writes == []


def test_a_token_within_the_margin_of_expiry_is_refreshed() -> None:
    writer = FakeWriter({"zuora": stored("old", MARGIN_S - 1)})
    report = refresh_tokens(["zuora"], {"zuora": FakeMinter(["new"])}, writer, FakeClock(), MARGIN_S)
    assert report.refreshed == ["zuora"]
    assert writer.stored["zuora"].access_token == "new"


def test_force_refreshes_a_fresh_token_for_the_on_demand_path() -> None:
    writer = FakeWriter({"zuora": stored("old", 3000)})
    report = refresh_tokens(["zuora"], {"zuora": FakeMinter(["new"])}, writer, FakeClock(), MARGIN_S,
                            force=True)
    assert report.refreshed == ["zuora"] and writer.stored["zuora"].access_token == "new"


def test_stripe_is_never_minted() -> None:
    minter = FakeMinter(["should-not-be-used"])
    writer = FakeWriter()
    report = refresh_tokens(["stripe"], {"stripe": minter}, writer, FakeClock(), MARGIN_S, force=True)
    assert report.not_minted == ["stripe"] and minter.calls == 0 and writer.writes == []


def test_revoked_credentials_alarm_for_that_system_and_the_others_are_still_refreshed(
        caplog: pytest.LogCaptureFixture) -> None:
    error = CredentialsRevoked("invalid_client", system="salesforce", code="invalid_client")
    revoked = FakeMinter([], error=error)
    zuora = FakeMinter(["z-new"])
    writer = FakeWriter()
    with caplog.at_level(logging.INFO, logger="concord.access"):
        report = refresh_tokens(["salesforce", "zuora"], {"salesforce": revoked, "zuora": zuora}, writer,
                                FakeClock(), MARGIN_S)
    assert report.alarms == ["salesforce"] and not report.ok
    assert "invalid_client" in report.revoked["salesforce"]
    assert report.refreshed == ["zuora"] and writer.stored["zuora"].access_token == "z-new"
    assert revoked.calls == 1  # not retried in a loop
    alerts = [r for r in caplog.records if getattr(r, "alert", None) == "credentials_revoked"]
    assert len(alerts) == 1 and alerts[0].levelno == logging.ERROR and alerts[0].system == "salesforce"


def test_a_vendor_outage_is_reported_as_failed_not_as_an_alarm() -> None:
    down = FakeMinter([], error=RetryableError("503", system="zuora", code="503"))
    report = refresh_tokens(["zuora"], {"zuora": down}, FakeWriter(), FakeClock(), MARGIN_S)
    assert "zuora" in report.failed and report.alarms == [] and not report.ok


def test_an_unexpected_bug_in_one_minter_does_not_stop_the_others() -> None:
    broken = FakeMinter([], error=KeyError("access_token"))
    report = refresh_tokens(["salesforce", "zuora"], {"salesforce": broken, "zuora": FakeMinter(["z"])},
                            FakeWriter(), FakeClock(), MARGIN_S)
    assert report.failed == {"salesforce": "KeyError"} and report.refreshed == ["zuora"]


def test_a_system_without_a_minter_is_reported() -> None:
    report = refresh_tokens(["zuora"], {}, FakeWriter(), FakeClock(), MARGIN_S)
    assert "NO_MINTER" in report.failed["zuora"]


def test_a_store_that_cannot_be_read_is_reported_and_nothing_is_minted() -> None:
    class BrokenWriter(FakeWriter):
        def current(self, system: str) -> StoredToken | None:
            raise RetryableError("ssm throttled", system="ssm", code="ThrottlingException")

    minter = FakeMinter(["new"])
    report = refresh_tokens(["zuora"], {"zuora": minter}, BrokenWriter(), FakeClock(), MARGIN_S)
    assert "ThrottlingException" in report.failed["zuora"] and minter.calls == 0


@given(expires_in=st.integers(-10_000, 10_000), margin=st.integers(0, 5_000), force=st.booleans())
def test_needs_refresh_exactly_when_forced_or_within_the_margin(expires_in: int, margin: int,
                                                                force: bool) -> None:
    token = stored("t", expires_in)
    assert needs_refresh(token, T0, margin, force=force) == (force or expires_in <= margin)
    assert needs_refresh(None, T0, margin)


@given(lifetime=st.integers(MARGIN_S + 1, 86_400), elapsed=st.integers(0, 86_400))
def test_after_a_scheduled_run_no_stored_token_is_within_the_margin(lifetime: int, elapsed: int) -> None:
    """Whatever the stored token's age, a scheduled run leaves one that outlives the margin."""
    clock = FakeClock(T0 + timedelta(seconds=elapsed))
    writer = FakeWriter({"zuora": stored("old", lifetime - elapsed)})
    refresh_tokens(["zuora"], {"zuora": FakeMinter(["new"], lifetime_s=lifetime)}, writer, clock, MARGIN_S)
    assert writer.stored["zuora"].expires_at - clock.now() > timedelta(seconds=MARGIN_S)
