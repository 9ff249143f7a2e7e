"""Outbound deliveries (DESIGN §2.3, §4) with fakes: signature, auth, rate, retries, outcomes."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from application.delivery import Deliverer, Destination, SendResult, signature_header, verify
from application.delivery.admin import new_destination
from application.errors import OutcomeUnknown, PermanentError, RetryableError
from domain.envelope import Envelope, new_envelope
from domain.errors import ValidationError


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2026, 11, 22, 10, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@dataclass
class Sent:
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass
class FakeSender:
    answers: dict[str, list[SendResult | Exception]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    tokens_fetched: list[str] = field(default_factory=list)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        self.sent.append(Sent(url, body, dict(headers)))
        queue = self.answers.get(url, [])
        answer = queue.pop(0) if queue else SendResult(200)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def fetch_token(self, token_url: str, client_id: str, client_secret: str,
                    scope: str | None) -> tuple[str, float]:
        self.tokens_fetched.append(f"{client_id}:{scope}")
        return f"token-{len(self.tokens_fetched)}", 3600.0


class FakeDirectory:
    def __init__(self, *destinations: Destination) -> None:
        self.destinations = destinations

    def subscribed_to(self, event_name: str) -> list[Destination]:
        return [d for d in self.destinations if event_name in d.event_names]


class FakeSecrets:
    def __init__(self, values: dict[str, dict[str, str]]) -> None:
        self.values = values

    def read_json(self, ref: str) -> Mapping[str, str]:
        return self.values[ref]


class FakeLimiter:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def acquire(self, key: str, rate_per_s: float) -> None:
        self.calls.append((key, rate_per_s))


class Backoff:
    max_attempts = 3

    def delay(self, attempt: int, hint_s: float | None = None) -> float:
        return hint_s if hint_s is not None else 0.1 * 2**attempt


class FakeLedger:
    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def delivered(self, event_id: str, destination_id: str) -> bool:
        return (event_id, destination_id) in self.pairs

    def mark_delivered(self, event_id: str, destination_id: str) -> None:
        self.pairs.add((event_id, destination_id))


def dest(name: str, *, events: tuple[str, ...] = ("Order.Activated",), auth: str = "none",
         secrets: tuple[str, ...] = ("sign-1",), rate: float = 5.0) -> Destination:
    return Destination(id=f"id-{name}", name=name, url=f"https://{name}.example/hook",
                       event_names=frozenset(events), signing_secrets=secrets,
                       auth_kind=auth,  # type: ignore[arg-type]
                       auth_secret_ref=None if auth == "none" else f"secret/{name}", rate_per_s=rate)


SECRETS = {"secret/keyed": {"key": "k-123", "header": "X-Partner-Key"},
           "secret/basic": {"username": "concord", "password": "pw"},
           "secret/oauth": {"token_url": "https://auth.example/token", "client_id": "cid",
                            "client_secret": "cs", "scope": "events.write"},
           "secret/broken": {"username": "concord"}}


@dataclass
class World:
    sender: FakeSender = field(default_factory=FakeSender)
    limiter: FakeLimiter = field(default_factory=FakeLimiter)
    ledger: FakeLedger = field(default_factory=FakeLedger)
    clock: Clock = field(default_factory=Clock)
    sleeps: list[float] = field(default_factory=list)

    def deliverer(self, *destinations: Destination) -> Deliverer:
        return Deliverer(FakeDirectory(*destinations), self.sender, FakeSecrets(SECRETS), self.limiter,
                         Backoff(), self.clock, self.sleeps.append, self.ledger)


def event(name: str = "Order.Activated", event_id: str = "e-1") -> Envelope:
    return new_envelope(source="concord.domain", event_name=name, event_id=event_id, correlation_id="c-1",
                        occurred_at=datetime(2026, 11, 22, 9, tzinfo=UTC), data={"aggregateId": "a-1"})


@pytest.fixture
def world() -> World:
    return World()


def test_only_subscribed_destinations_receive_the_canonical_envelope(world: World) -> None:
    delivered = world.deliverer(dest("erp"), dest("crm", events=("Order.Cancelled",))).deliver(event())
    assert delivered == ["id-erp"]
    (sent,) = world.sender.sent
    assert sent.url == "https://erp.example/hook" and sent.body == event().to_json().encode()
    assert sent.headers["Concord-Event-Id"] == "e-1" and sent.headers["Idempotency-Key"] == "e-1"
    assert sent.headers["Content-Type"] == "application/json"


def test_the_signature_is_stripe_style_over_t_dot_body(world: World) -> None:
    world.deliverer(dest("erp")).deliver(event())
    (sent,) = world.sender.sent
    header = sent.headers["Concord-Signature"]
    t = int(world.clock.at.timestamp())
    assert header.startswith(f"t={t},v1=")
    assert verify(sent.body, header, ["sign-1"], now=t)
    assert not verify(sent.body + b" ", header, ["sign-1"], now=t)
    assert not verify(sent.body, header, ["other"], now=t)
    assert not verify(sent.body, header, ["sign-1"], now=t + 301)


def test_during_a_rotation_one_v1_per_secret_lets_either_receiver_verify(world: World) -> None:
    world.deliverer(dest("erp", secrets=("old", "new"))).deliver(event())
    (sent,) = world.sender.sent
    header = sent.headers["Concord-Signature"]
    assert header.count("v1=") == 2
    t = int(world.clock.at.timestamp())
    assert verify(sent.body, header, ["old"], now=t) and verify(sent.body, header, ["new"], now=t)


@settings(max_examples=80, deadline=None)
@given(body=st.binary(max_size=300), t=st.integers(0, 4_000_000_000),
       secrets=st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3))
def test_any_body_signed_with_any_secrets_verifies_with_each_of_them(body: bytes, secrets: list[str],
                                                                     t: int) -> None:
    header = signature_header(body, secrets, t)
    assert all(verify(body, header, [secret], now=t) for secret in secrets)
    assert not verify(body + b"x", header, secrets, now=t)


def test_api_key_and_basic_auth_come_from_the_referenced_secret(world: World) -> None:
    world.deliverer(dest("keyed", auth="api_key"), dest("basic", auth="basic")).deliver(event())
    keyed, basic = world.sender.sent
    assert keyed.headers["X-Partner-Key"] == "k-123"
    assert basic.headers["Authorization"] == "Basic " + base64.b64encode(b"concord:pw").decode()


def test_an_oauth_token_is_fetched_once_and_reused_until_near_expiry(world: World) -> None:
    deliverer = world.deliverer(dest("oauth", auth="oauth"))
    deliverer.deliver(event(event_id="e-1"))
    deliverer.deliver(event(event_id="e-2"))
    assert world.sender.tokens_fetched == ["cid:events.write"]
    assert {s.headers["Authorization"] for s in world.sender.sent} == {"Bearer token-1"}
    world.clock.at += timedelta(seconds=3600 - 30)  # inside the refresh margin
    deliverer.deliver(event(event_id="e-3"))
    assert world.sender.sent[-1].headers["Authorization"] == "Bearer token-2"


def test_a_401_with_oauth_refetches_the_token_once_and_retries(world: World) -> None:
    world.sender.answers["https://oauth.example/hook"] = [SendResult(401), SendResult(200)]
    assert world.deliverer(dest("oauth", auth="oauth")).deliver(event()) == ["id-oauth"]
    assert [s.headers["Authorization"] for s in world.sender.sent] == ["Bearer token-1", "Bearer token-2"]


def test_a_second_401_after_a_fresh_token_is_permanent(world: World) -> None:
    world.sender.answers["https://oauth.example/hook"] = [SendResult(401), SendResult(401)]
    with pytest.raises(PermanentError, match="401"):
        world.deliverer(dest("oauth", auth="oauth")).deliver(event())


def test_a_5xx_is_retried_with_backoff_and_then_delivered(world: World) -> None:
    world.sender.answers["https://erp.example/hook"] = [SendResult(503), SendResult(502), SendResult(200)]
    assert world.deliverer(dest("erp")).deliver(event()) == ["id-erp"]
    assert world.sleeps == [0.1, 0.2]
    assert len(world.sender.sent) == 3
    assert len({s.headers["Idempotency-Key"] for s in world.sender.sent}) == 1


def test_retry_after_wins_over_the_backoff(world: World) -> None:
    world.sender.answers["https://erp.example/hook"] = [SendResult(429, retry_after=3.0), SendResult(200)]
    world.deliverer(dest("erp")).deliver(event())
    assert world.sleeps == [3.0]


def test_a_retry_after_longer_than_the_function_should_wait_returns_the_message_to_the_queue(
        world: World) -> None:
    world.sender.answers["https://erp.example/hook"] = [SendResult(429, retry_after=60.0)]
    with pytest.raises(RetryableError) as caught:
        world.deliverer(dest("erp")).deliver(event())
    assert caught.value.retry_after == 60.0 and world.sleeps == [] and len(world.sender.sent) == 1


def test_a_destination_without_a_signing_secret_is_permanent(world: World) -> None:
    with pytest.raises(PermanentError, match="signing secret"):
        world.deliverer(dest("erp", secrets=())).deliver(event())
    assert world.sender.sent == []


def test_a_transport_failure_is_retried_like_a_5xx(world: World) -> None:
    world.sender.answers["https://erp.example/hook"] = [OutcomeUnknown("timeout"), SendResult(200)]
    assert world.deliverer(dest("erp")).deliver(event()) == ["id-erp"]


def test_exhausted_retries_raise_retryable_with_the_receivers_hint(world: World) -> None:
    world.sender.answers["https://erp.example/hook"] = [SendResult(429, retry_after=2.0)] * 3
    with pytest.raises(RetryableError) as caught:
        world.deliverer(dest("erp")).deliver(event())
    assert caught.value.retry_after == 2.0 and "erp" in caught.value.message
    assert len(world.sender.sent) == 3 and not world.ledger.pairs


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422, 301, 302])
def test_a_4xx_or_redirect_is_permanent_at_once(world: World, status: int) -> None:
    world.sender.answers["https://erp.example/hook"] = [SendResult(status, excerpt="nope")]
    with pytest.raises(PermanentError) as caught:
        world.deliverer(dest("erp")).deliver(event())
    assert type(caught.value) is PermanentError and "erp" in caught.value.message
    assert len(world.sender.sent) == 1 and world.sleeps == []


def test_every_attempt_takes_a_token_from_the_destinations_own_rate(world: World) -> None:
    world.sender.answers["https://slow.example/hook"] = [SendResult(500), SendResult(200)]
    world.deliverer(dest("slow", rate=0.5), dest("fast", rate=50)).deliver(event())
    assert world.limiter.calls == [("id-slow", 0.5), ("id-slow", 0.5), ("id-fast", 50)]


def test_a_retried_message_skips_destinations_already_served(world: World) -> None:
    world.sender.answers["https://crm.example/hook"] = [SendResult(503)] * 3
    deliverer = world.deliverer(dest("erp"), dest("crm"))
    with pytest.raises(RetryableError):
        deliverer.deliver(event())
    assert world.ledger.pairs == {("e-1", "id-erp")}
    assert deliverer.deliver(event()) == ["id-crm"]
    assert [s.url for s in world.sender.sent].count("https://erp.example/hook") == 1


def test_mixed_failures_are_retryable_and_only_permanent_ones_go_to_the_dlq(world: World) -> None:
    world.sender.answers = {"https://erp.example/hook": [SendResult(400)],
                            "https://crm.example/hook": [SendResult(503)] * 3}
    with pytest.raises(RetryableError):
        world.deliverer(dest("erp"), dest("crm")).deliver(event())
    world.sender.answers = {"https://erp.example/hook": [SendResult(400)]}
    with pytest.raises(PermanentError, match="erp"):
        world.deliverer(dest("erp"), dest("crm")).deliver(event())


def test_an_auth_secret_missing_a_field_is_permanent_and_names_it(world: World) -> None:
    broken = Destination(id="id-b", name="b", url="https://b.example",
                         event_names=frozenset({"Order.Activated"}), signing_secrets=("s",),
                         auth_kind="basic", auth_secret_ref="secret/broken")
    with pytest.raises(PermanentError, match="password"):
        world.deliverer(broken).deliver(event())
    assert world.sender.sent == []


def test_no_subscriber_means_nothing_sent(world: World) -> None:
    assert world.deliverer(dest("erp")).deliver(event("Account.Synced")) == []
    assert world.sender.sent == []


# -- registering a destination ---------------------------------------------------------------------
def test_a_new_destination_gets_its_own_signing_secret() -> None:
    one, secret = new_destination(name="erp", url="https://erp.example/hook", event_names=["Order.Activated"])
    two, other = new_destination(name="erp", url="https://erp.example/hook", event_names=["Order.Activated"])
    assert one.signing_secrets == (secret,) and secret != other and one.id != two.id


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"url": "http://erp.example/hook"}, "url"), ({"url": "ftp://x"}, "url"),
    ({"event_names": []}, "event_names"), ({"auth_kind": "oauth"}, "auth_secret_ref"),
    ({"auth_kind": "digest", "auth_secret_ref": "s"}, "auth_kind"),
    ({"rate_per_s": 0}, "rate_per_s"), ({"name": " "}, "name")])
def test_an_invalid_destination_is_refused_by_field(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"name": "erp", "url": "https://erp.example/hook",
                              "event_names": ["Order.Activated"], **kwargs}
    with pytest.raises(ValidationError) as caught:
        new_destination(**values)
    assert caught.value.field == field


def test_plain_http_is_allowed_only_to_this_machine() -> None:
    destination, _ = new_destination(name="dev", url="http://127.0.0.1:8080/hook", event_names=["A"])
    assert destination.url.startswith("http://127.0.0.1")


# -- the delivery Lambda (SQS partial batch response) ----------------------------------------------
class FakeSqs:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_message(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


class NullPublisher:
    def publish(self, envelopes: Any) -> None:
        pass


def sqs_record(message_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"messageId": message_id, "body": json.dumps(body), "attributes": {"ApproximateReceiveCount": "1"},
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:delivery"}


def bus_event(envelope: Envelope) -> dict[str, Any]:
    return {"id": "eb-1", "source": envelope.metadata.source, "detail-type": envelope.metadata.eventName,
            "detail": envelope.to_detail()}


def test_the_delivery_lambda_retries_retryable_and_dead_letters_permanent_failures(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from entrypoints.lambdas import _wiring_gateway as wiring
    from entrypoints.lambdas import delivery

    sqs = FakeSqs()
    world.sender.answers["https://erp.example/hook"] = [SendResult(200), SendResult(503), SendResult(503),
                                                       SendResult(503), SendResult(404)]
    monkeypatch.setattr(wiring, "deliverer", lambda: world.deliverer(dest("erp")))
    monkeypatch.setattr(wiring, "_clients", lambda: {"sqs": sqs})
    monkeypatch.setattr(wiring, "publisher", NullPublisher)
    monkeypatch.setattr(wiring, "dlq_url", lambda: "https://sqs.example/delivery-dlq")
    relay = {"id": "eb-9", "source": "aws.partner/salesforce.com/00D/0YL",
             "detail-type": "AccountChangeEvent", "detail": {"payload": {}}}
    answer = delivery.handler({"Records": [
        sqs_record("m-ok", bus_event(event(event_id="e-ok"))),
        sqs_record("m-retry", bus_event(event(event_id="e-retry"))),
        sqs_record("m-gone", bus_event(event(event_id="e-gone"))),
        sqs_record("m-relay", relay)]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-retry"}]}
    reasons = {m["MessageAttributes"]["originalMessageId"]["StringValue"]:
               m["MessageAttributes"]["reason"]["StringValue"] for m in sqs.sent}
    assert set(reasons) == {"m-gone", "m-relay"}
    assert "404" in reasons["m-gone"] and "not a canonical envelope" in reasons["m-relay"]
