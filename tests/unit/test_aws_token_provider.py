"""SsmTokenProvider's rules with fakes and a fake clock: caches, the extension, 401 handling, the lease."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from adapters.aws.token_store import SsmTokenProvider, encode_token
from application.access import StoredToken
from application.errors import CredentialsRevoked, RetryableError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
NAME = "/concord/dev/tokens/zuora"


def value(token: str, expires_in_s: float = 3600) -> str:
    return encode_token(StoredToken(token, T0, T0 + timedelta(seconds=expires_in_s)))


@dataclass
class FakeSsm:
    values: dict[str, str] = field(default_factory=dict)
    reads: int = 0

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        assert WithDecryption
        self.reads += 1
        if Name not in self.values:
            raise ClientError({"Error": {"Code": "ParameterNotFound", "Message": ""}}, "GetParameter")
        return {"Parameter": {"Name": Name, "Value": self.values[Name]}}


@dataclass
class Clock:
    t: float = 1000.0

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.001)


@dataclass
class FakeLease:
    """One lease; `other_holds_until` simulates another instance holding it."""

    clock: Clock
    other_holds_until: float = 0.0
    acquired: int = 0
    released: int = 0

    def acquire(self, name: str) -> bool:
        if self.clock.t < self.other_holds_until:
            return False
        self.acquired += 1
        return True

    def release(self, name: str) -> None:
        self.released += 1


class World:
    def __init__(self, **kwargs: Any) -> None:
        self.ssm, self.clock = FakeSsm(), Clock()
        self.lease = FakeLease(self.clock)
        self.refreshes: list[str] = []
        self.next_token = "new-token"
        self.refresh_error: Exception | None = None
        options = {"ttl_s": 60.0, "wait_s": 10.0, "poll_s": 0.5, **kwargs}
        self.provider = SsmTokenProvider(
            self.ssm,
            "dev",
            lease=self.lease,
            request_refresh=self.refresh,
            monotonic=self.clock.monotonic,
            now=lambda: T0,
            sleep=self.clock.sleep,
            **options,
        )

    def refresh(self, system: str) -> None:
        self.refreshes.append(system)
        if self.refresh_error is not None:
            raise self.refresh_error
        self.ssm.values[NAME] = value(self.next_token)


def test_a_token_is_read_once_then_served_from_the_in_process_cache_until_its_ttl() -> None:
    world = World()
    world.ssm.values[NAME] = value("t1")
    assert world.provider.token("zuora") == "t1" and world.provider.token("zuora") == "t1"
    assert world.ssm.reads == 1
    world.ssm.values[NAME] = value("t2")
    world.clock.t += 61
    assert world.provider.token("zuora") == "t2" and world.ssm.reads == 2


def test_a_cached_token_is_never_served_past_its_expiry() -> None:
    world = World(ttl_s=3600)
    world.ssm.values[NAME] = value("t1", expires_in_s=30)
    assert world.provider.token("zuora") == "t1"
    world.ssm.values[NAME] = value("t2")
    world.provider._now = lambda: T0 + timedelta(seconds=31)
    assert world.provider.token("zuora") == "t2"


def test_after_a_401_a_different_token_in_ssm_is_used_without_a_refresh() -> None:
    world = World()
    world.ssm.values[NAME] = value("stale")
    world.provider.token("zuora")
    world.ssm.values[NAME] = value("already-refreshed")  # the scheduled run wrote it meanwhile
    assert world.provider.invalidate("zuora", "stale") == "already-refreshed"
    assert world.refreshes == [] and world.lease.acquired == 0


def test_after_a_401_on_the_stored_token_one_refresh_is_requested_under_the_lease() -> None:
    world = World()
    world.ssm.values[NAME] = value("stale")
    world.provider.token("zuora")
    assert world.provider.invalidate("zuora", "stale") == "new-token"
    assert world.refreshes == ["zuora"] and world.lease.acquired == world.lease.released == 1
    reads = world.ssm.reads
    assert world.provider.token("zuora") == "new-token" and world.ssm.reads == reads  # cached again


def test_while_another_instance_holds_the_lease_the_reader_waits_and_rereads() -> None:
    world = World()
    world.ssm.values[NAME] = value("stale")
    world.lease.other_holds_until = world.clock.t + 100

    def other_instance_writes(seconds: float) -> None:
        Clock.sleep(world.clock, seconds)
        if world.clock.t > 1002:
            world.ssm.values[NAME] = value("written-by-the-holder")

    world.provider._sleep = other_instance_writes
    assert world.provider.invalidate("zuora", "stale") == "written-by-the-holder"
    assert world.refreshes == [] and world.lease.acquired == 0


def test_a_crashed_holders_lease_expires_and_a_waiter_refreshes_itself() -> None:
    world = World(wait_s=20.0)
    world.ssm.values[NAME] = value("stale")
    world.lease.other_holds_until = world.clock.t + 5  # the holder died; its lease runs out after 5 s
    assert world.provider.invalidate("zuora", "stale") == "new-token"
    assert world.refreshes == ["zuora"] and world.clock.t >= 1005


def test_a_reader_never_waits_forever() -> None:
    world = World(wait_s=3.0)
    world.ssm.values[NAME] = value("stale")
    world.lease.other_holds_until = float("inf")
    with pytest.raises(RetryableError) as info:
        world.provider.invalidate("zuora", "stale")
    assert info.value.code == "TOKEN_REFRESH_TIMEOUT" and world.clock.t <= 1003.5


def test_a_refresh_that_writes_nothing_times_out_and_releases_the_lease() -> None:
    world = World(wait_s=3.0)
    world.ssm.values[NAME] = value("stale")
    world.next_token = "stale"  # the vendor handed back the same token
    with pytest.raises(RetryableError):
        world.provider.invalidate("zuora", "stale")
    assert world.lease.released == world.lease.acquired == 1


def test_revoked_credentials_surface_from_the_on_demand_refresh_and_the_lease_is_released() -> None:
    world = World()
    world.ssm.values[NAME] = value("stale")
    world.refresh_error = CredentialsRevoked("invalid_client", system="zuora", code="invalid_client")
    with pytest.raises(CredentialsRevoked):
        world.provider.invalidate("zuora", "stale")
    assert world.lease.released == 1


def test_an_unexpected_refresh_failure_becomes_a_retryable_error() -> None:
    world = World()
    world.ssm.values[NAME] = value("stale")
    world.refresh_error = ConnectionError("lambda invoke failed")
    with pytest.raises(RetryableError) as info:
        world.provider.invalidate("zuora", "stale")
    assert info.value.code == "REFRESH_FAILED"


@pytest.mark.parametrize("stored", [None, "{broken", value("expired", expires_in_s=-1)])
def test_an_absent_corrupt_or_expired_token_is_refreshed_on_first_use(stored: str | None) -> None:
    world = World()
    if stored is not None:
        world.ssm.values[NAME] = stored
    assert world.provider.token("zuora") == "new-token" and world.refreshes == ["zuora"]


# -- the Parameters and Secrets Extension ----------------------------------------------------------
def extension(answer: Any, seen: list[httpx.Request]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_reads_go_through_the_extension_with_the_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")
    seen: list[httpx.Request] = []
    body = {
        "Parameter": {"Name": NAME, "Type": "SecureString", "Value": value("via-extension")},
        "ResultMetadata": {},
    }
    world = World(extension_port=2773, http=extension(httpx.Response(200, json=body), seen))
    assert world.provider.token("zuora") == "via-extension" and world.ssm.reads == 0
    (request,) = seen
    assert request.url.host == "localhost" and request.url.port == 2773
    assert request.url.path == "/systemsmanager/parameters/get"
    assert request.url.params["name"] == NAME and request.url.params["withDecryption"] == "true"
    assert request.headers["X-Aws-Parameters-Secrets-Token"] == "session-token-value"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.ConnectError("refused"),
        httpx.Response(400, text="not ready"),
        httpx.Response(200, text="not json"),
    ],
)
def test_without_a_working_extension_reads_fall_back_to_ssm(answer: Any) -> None:
    seen: list[httpx.Request] = []
    world = World(extension_port=2773, http=extension(answer, seen))
    world.ssm.values[NAME] = value("via-boto3")
    assert world.provider.token("zuora") == "via-boto3" and len(seen) == 1 and world.ssm.reads == 1


def test_after_a_401_the_extension_cache_is_bypassed() -> None:
    seen: list[httpx.Request] = []
    body = {"Parameter": {"Value": value("stale")}}
    world = World(extension_port=2773, http=extension(httpx.Response(200, json=body), seen))
    world.ssm.values[NAME] = value("fresh-in-ssm")
    assert world.provider.token("zuora") == "stale"  # the extension's cached copy
    assert world.provider.invalidate("zuora", "stale") == "fresh-in-ssm"
    assert len(seen) == 1 and world.refreshes == []
