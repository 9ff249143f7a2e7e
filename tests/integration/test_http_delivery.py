"""Deliveries over real HTTP to a local receiver (stdlib http.server, port 0) that checks the signature."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from adapters.http_delivery import HttpDeliverySender, PerDestinationBuckets, retry_after
from adapters.outbound import RetryPolicy
from application.delivery import Deliverer, Destination, signature_header, verify
from application.errors import CredentialsRevoked, OutcomeUnknown, PermanentError, RetryableError
from domain.envelope import Envelope, new_envelope


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class Receiver:
    """A destination as a partner would write it: verifies Concord-Signature with ITS secret(s)."""

    secrets: list[str]
    answers: list[Answer] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    url: str = ""

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if path == "/token":
            return self._token(headers, body)
        if path == "/oauth-hook" and headers.get("authorization") not in {f"Bearer {t}" for t in self.issued}:
            return 401, {}, b"{}"
        signed = verify(body, headers.get("concord-signature", ""), self.secrets, now=time.time())
        self.received.append({"path": path, "headers": headers, "body": body, "verified": signed})
        if not signed:
            return 400, {}, b'{"error": "bad signature"}'
        answer = self.answers.pop(0) if self.answers else Answer()
        time.sleep(answer.delay_s)
        return answer.status, answer.headers, b"{}"

    def _token(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.token_requests.append({"authorization": headers.get("authorization", ""), "form": body.decode()})
        if headers.get("authorization") != "Basic " + base64.b64encode(b"cid:csecret").decode():
            return 401, {}, b'{"error": "invalid_client"}'
        self.issued.append(f"tok-{len(self.issued) + 1}")
        return 200, {"content-type": "application/json"}, json.dumps(
            {"access_token": self.issued[-1], "token_type": "bearer", "expires_in": 3600}).encode()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, payload = receiver.handle(self.path, headers, body)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the timeout tests hang up first
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("location", receiver.url + "/elsewhere")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver(secrets=["sign-new"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(target))
    server.daemon_threads = True
    target.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield target
    server.shutdown()
    server.server_close()


class Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Secrets:
    def read_json(self, ref: str) -> dict[str, str]:
        return {"token_url": ref, "client_id": "cid", "client_secret": "csecret"}


def destination(receiver: Receiver, *, path: str = "/hook", secrets: tuple[str, ...] = ("sign-new",),
                auth: str = "none", rate: float = 50.0) -> Destination:
    return Destination(id="d-1", name="partner", url=receiver.url + path,
                       event_names=frozenset({"Order.Activated"}), signing_secrets=secrets,
                       auth_kind=auth,  # type: ignore[arg-type]
                       auth_secret_ref=receiver.url + "/token" if auth == "oauth" else None, rate_per_s=rate)


def deliverer(target: Destination, sleeps: list[float] | None = None, *, timeout_s: float = 2.0) -> Deliverer:
    class Directory:
        def subscribed_to(self, event_name: str) -> list[Destination]:
            return [target] if event_name in target.event_names else []

    return Deliverer(Directory(), HttpDeliverySender(timeout_s=timeout_s), Secrets(), PerDestinationBuckets(),
                     RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=1.0), Clock(),
                     (sleeps if sleeps is not None else []).append)


def event(event_id: str = "e-1") -> Envelope:
    return new_envelope(source="concord.domain", event_name="Order.Activated", event_id=event_id,
                        correlation_id="c-1", occurred_at=datetime(2026, 11, 22, 9, tzinfo=UTC),
                        data={"aggregateId": "a-1", "crmId": "801xx"})


def test_the_receiver_verifies_the_signature_over_the_exact_bytes(receiver: Receiver) -> None:
    assert deliverer(destination(receiver)).deliver(event()) == ["d-1"]
    (got,) = receiver.received
    assert got["verified"] and json.loads(got["body"]) == event().to_detail()
    assert got["headers"]["concord-event-id"] == "e-1" and got["headers"]["idempotency-key"] == "e-1"


def test_during_a_rotation_a_receiver_holding_either_secret_verifies(receiver: Receiver) -> None:
    target = destination(receiver, secrets=("sign-old", "sign-new"))
    deliverer(target).deliver(event())
    receiver.secrets = ["sign-old"]
    deliverer(target).deliver(event("e-2"))
    assert [r["verified"] for r in receiver.received] == [True, True]


def test_a_receiver_refusing_the_signature_makes_a_permanent_failure(receiver: Receiver) -> None:
    with pytest.raises(PermanentError, match="400"):
        deliverer(destination(receiver, secrets=("some-other-secret",))).deliver(event())


def test_a_503_with_retry_after_is_retried_after_the_hint(receiver: Receiver) -> None:
    receiver.answers = [Answer(503, {"Retry-After": "1"}), Answer(200)]
    sleeps: list[float] = []
    assert deliverer(destination(receiver), sleeps).deliver(event()) == ["d-1"]
    assert sleeps == [1.0] and len(receiver.received) == 2


def test_oauth_client_credentials_are_fetched_with_basic_auth_and_the_token_reused(
        receiver: Receiver) -> None:
    target = destination(receiver, path="/oauth-hook", auth="oauth")
    delivery = deliverer(target)
    delivery.deliver(event("e-1"))
    delivery.deliver(event("e-2"))
    assert len(receiver.token_requests) == 1
    assert "grant_type=client_credentials" in receiver.token_requests[0]["form"]
    assert len(receiver.received) == 2


def test_a_refused_oauth_client_is_credentials_revoked(receiver: Receiver) -> None:
    with pytest.raises(CredentialsRevoked):
        HttpDeliverySender().fetch_token(receiver.url + "/token", "cid", "wrong", None)


def test_a_receiver_slower_than_the_timeout_is_an_unknown_outcome(receiver: Receiver) -> None:
    receiver.answers = [Answer(200, delay_s=0.5)]
    signed = {"concord-signature": signature_header(b"{}", ["sign-new"], int(time.time()))}
    with pytest.raises(OutcomeUnknown):
        HttpDeliverySender(timeout_s=0.1).post(receiver.url + "/hook", b"{}", signed)


def test_exhausted_timeouts_leave_the_message_retryable(receiver: Receiver) -> None:
    receiver.secrets = ["sign-new"]
    receiver.answers = [Answer(200, delay_s=0.3)] * 3
    with pytest.raises(RetryableError):
        deliverer(destination(receiver), timeout_s=0.1).deliver(event())


def test_nothing_listening_is_retryable() -> None:
    with pytest.raises(RetryableError) as caught:
        HttpDeliverySender(timeout_s=0.5).post("http://127.0.0.1:9/hook", b"{}", {})
    assert not isinstance(caught.value, OutcomeUnknown)


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.answers = [Answer(302)]
    with pytest.raises(PermanentError, match="redirect"):
        deliverer(destination(receiver)).deliver(event())
    assert len(receiver.received) == 1


def test_the_per_destination_rate_spaces_requests(receiver: Receiver) -> None:
    delivery = deliverer(destination(receiver, rate=20.0))  # one every 50 ms, burst 1
    started = time.monotonic()
    for n in range(4):
        delivery.deliver(event(f"e-{n}"))
    assert time.monotonic() - started >= 0.14  # three waits of ~50 ms after the first request
    assert len(receiver.received) == 4


def test_retry_after_reads_seconds_and_http_dates() -> None:
    soon = format_datetime(datetime.fromtimestamp(time.time() + 30, UTC), usegmt=True)
    assert retry_after(httpx.Response(429, headers={"Retry-After": "12"})) == 12.0
    assert 25 <= (retry_after(httpx.Response(429, headers={"Retry-After": soon})) or 0) <= 31
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(429)) is None
