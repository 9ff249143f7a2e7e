"""StripeHttp and StripeBilling: the wire (MockTransport) and the behaviours the contract suite does not
reach, against the Stripe sandbox over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from adapters.billing.stripe import StripeBilling, StripeHttp
from adapters.billing.stripe.webhook import verify_signature
from adapters.outbound import RetryPolicy, StaticTokens
from application.errors import (
    CredentialsRevoked,
    NotFound,
    OutcomeUnknown,
    PermanentError,
    RetryableError,
)
from domain.canonical import PriceSpec, ProductSnapshot, SubscriptionItem, SubscriptionRequest
from domain.values import BillingPeriod, Money
from infrastructure.sandboxes.stripe import StripeSandbox, build_parser

KEY = "rk_test_integration_0042"
ACCOUNT = {"name": "Acme", "currency": "EUR", "email": "ap@acme.example"}


def uid() -> str:
    return uuid.uuid4().hex[:10]


def make_http(url: str, *, attempts: int = 4, timeout_s: float = 10.0, **kwargs: Any) -> StripeHttp:
    return StripeHttp(url, tokens=StaticTokens({"stripe": KEY}), timeout_s=timeout_s,
                      retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.02, max_delay_s=0.2), **kwargs)


# -- the wire, with a scripted transport ---------------------------------------------------------------
class Script:
    """Answers requests from a list of (status, json body, headers); records what was sent."""

    def __init__(self, *answers: tuple[int, dict[str, Any], dict[str, str]]) -> None:
        self.answers, self.sent = list(answers), []
        self.slept: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        status, body, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(status, json=body, headers=headers)

    def http(self) -> StripeHttp:
        return make_http("https://api.stripe.test", client=httpx.Client(transport=httpx.MockTransport(self)),
                         sleep=self.slept.append)


def stripe_error(type_: str = "invalid_request_error", **fields: Any) -> dict[str, Any]:
    return {"error": {"type": type_, "message": "scripted", **fields}}


OK = (200, {"id": "cus_1", "object": "customer"}, {})


def test_posts_are_form_encoded_with_brackets_bearer_key_version_and_the_idempotency_key() -> None:
    script = Script(OK)
    script.http().post("/v1/subscriptions", {"items": [{"price": "price_1", "quantity": 2}],
                                             "metadata": {"crm_order_id": "801"}, "cancel_at_period_end": True},
                       "key-1")
    sent = script.sent[0]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qsl(sent.content.decode()) == [("items[0][price]", "price_1"), ("items[0][quantity]", "2"),
                                                ("metadata[crm_order_id]", "801"), ("cancel_at_period_end", "true")]
    assert sent.headers["authorization"] == f"Bearer {KEY}" and sent.headers["idempotency-key"] == "key-1"
    assert sent.headers["stripe-version"]


def test_a_post_without_an_idempotency_key_is_refused_before_sending() -> None:
    script = Script(OK)
    with pytest.raises(PermanentError):
        script.http().post("/v1/customers", {"name": "A"}, "")
    assert script.sent == []


def test_a_stripe_error_is_permanent_and_names_the_param() -> None:
    script = Script((400, stripe_error(code="parameter_missing", param="items[0][price]"), {}))
    with pytest.raises(PermanentError) as caught:
        script.http().post("/v1/subscriptions", {}, "k")
    assert caught.value.field == "items[0][price]" and caught.value.code == "parameter_missing"
    assert len(script.sent) == 1


def test_a_401_reads_the_key_again_once_and_a_second_401_is_a_revoked_key() -> None:
    refused = (401, stripe_error(message="Invalid API Key provided: rk_test_****0042"), {})
    script = Script(refused, refused)
    with pytest.raises(CredentialsRevoked):
        script.http().get("/v1/customers")
    assert len(script.sent) == 2  # one retry with the key read again (it may have been rolled), no more


def test_stripe_should_retry_true_overrides_a_4xx() -> None:
    script = Script((400, stripe_error(), {"Stripe-Should-Retry": "true"}), OK)
    assert script.http().post("/v1/customers", {}, "k").body["id"] == "cus_1"
    assert [r.headers["idempotency-key"] for r in script.sent] == ["k", "k"]


def test_stripe_should_retry_false_overrides_a_500() -> None:
    script = Script((500, stripe_error("api_error"), {"Stripe-Should-Retry": "false"}), OK)
    with pytest.raises(PermanentError) as caught:
        script.http().post("/v1/customers", {}, "k")
    assert not isinstance(caught.value, RetryableError) and len(script.sent) == 1


def test_429_and_5xx_are_retried_honouring_retry_after() -> None:
    script = Script((429, stripe_error(), {"Retry-After": "0.3"}), (503, stripe_error("api_error"), {}), OK)
    assert script.http().get("/v1/customers/cus_1").body["id"] == "cus_1"
    assert len(script.sent) == 3 and script.slept[0] == pytest.approx(0.3)


def test_a_409_other_than_a_key_in_use_is_never_retried() -> None:
    script = Script((409, stripe_error(code="resource_conflict"), {}), OK)
    with pytest.raises(PermanentError):
        script.http().post("/v1/customers", {}, "k")
    assert len(script.sent) == 1


def test_a_400_idempotency_mismatch_is_permanent() -> None:
    script = Script((400, stripe_error("idempotency_error"), {}), OK)
    with pytest.raises(PermanentError) as caught:
        script.http().post("/v1/customers", {}, "k")
    assert caught.value.code == "idempotency_error" and len(script.sent) == 1


def test_a_404_is_not_found() -> None:
    with pytest.raises(NotFound):
        Script((404, stripe_error(code="resource_missing", param="id"), {})).http().get("/v1/customers/cus_x")


def test_versions_strictly_increase_even_within_one_clock_tick() -> None:
    script = Script(OK)
    http = make_http("https://api.stripe.test", client=httpx.Client(transport=httpx.MockTransport(script)),
                     clock=lambda: 1_800_000_000.0)
    versions = [http.get("/v1/customers/cus_1").version for _ in range(3)]
    assert versions == sorted(versions) and len(set(versions)) == 3 and versions[0].isdigit()


# -- against the sandbox -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sandbox() -> Iterator[StripeSandbox]:
    stripe = StripeSandbox([KEY], rate_limit_per_s=10_000)
    stripe.start()
    yield stripe
    stripe.stop()


@pytest.fixture
def admin(sandbox: StripeSandbox) -> Iterator[Callable[..., httpx.Response]]:
    client = httpx.Client(base_url=sandbox.url)
    client.post("/__sandbox/reset")
    client.post("/__sandbox/faults", json={})
    yield lambda path, body=None: client.post(f"/__sandbox/{path}", json=body or {})
    client.post("/__sandbox/faults", json={})
    client.close()


@pytest.fixture
def gateway(sandbox: StripeSandbox, admin: Any) -> StripeBilling:
    return StripeBilling(make_http(sandbox.url), today=lambda: date(2026, 1, 15))


def subscribe(gateway: StripeBilling, quantity: int = 1) -> tuple[str, str, str]:
    account = gateway.create_account(f"001{uid()}", ACCOUNT, uid())
    product = gateway.ensure_product(ProductSnapshot(f"01t{uid()}", f"SKU-{uid()}", "Widget"), uid())
    price = gateway.create_price(product, PriceSpec(Money(Decimal("12.50"), "EUR"), BillingPeriod.MONTH), uid())
    sub = gateway.create_subscription(SubscriptionRequest(f"801{uid()}", account.billing_id, "EUR",
                                                          date(2026, 1, 15), 12,
                                                          (SubscriptionItem("SKU-A", price, None, quantity),)), uid())
    return account.billing_id, price, sub.billing_id


def test_a_revoked_key_raises_credentials_revoked(gateway: StripeBilling, admin: Any) -> None:
    admin("expire-tokens")
    with pytest.raises(CredentialsRevoked):
        gateway.find_account("001x")


def test_a_saved_500_is_permanent_and_asking_again_replays_it(gateway: StripeBilling, admin: Any) -> None:
    admin("fail-next", {"kind": "saved_500"})
    with pytest.raises(PermanentError) as caught:
        gateway.create_account("001a", ACCOUNT, "key-500")
    assert caught.value.code == "api_error"
    with pytest.raises(PermanentError):
        gateway.create_account("001a", ACCOUNT, "key-500")  # the key is bound to the 500 for 24 h


def test_a_lock_timeout_is_retried_to_success(gateway: StripeBilling, admin: Any) -> None:
    admin("fail-next", {"kind": "lock_timeout", "count": 2})
    assert gateway.create_account("001b", ACCOUNT, "key-lock").crm_id == "001b"


def test_injected_5xx_and_429_are_retried_with_the_same_key(sandbox: StripeSandbox, admin: Any) -> None:
    admin("faults", {"error_rate": 0.4, "throttle_rate": 0.2, "seed": 7})
    gateway = StripeBilling(make_http(sandbox.url, attempts=12))
    made = {gateway.create_account("001c", ACCOUNT, "key-flaky").billing_id for _ in range(3)}
    admin("faults", {})
    assert len(made) == 1 and len(gateway.list_accounts(None, 100).items) == 1


def test_a_timeout_is_outcome_unknown_and_the_retry_returns_the_first_result(sandbox: StripeSandbox,
                                                                              admin: Any) -> None:
    admin("faults", {"latency_ms": 400})
    impatient = StripeBilling(make_http(sandbox.url, attempts=1, timeout_s=0.15))
    with pytest.raises(OutcomeUnknown):
        impatient.create_account("001d", ACCOUNT, "key-slow")
    patient = StripeBilling(make_http(sandbox.url, attempts=8, timeout_s=2))
    account = patient.create_account("001d", ACCOUNT, "key-slow")  # 409 in progress, then the replay
    admin("faults", {})
    assert [a.billing_id for a in patient.list_accounts(None, 100).items] == [account.billing_id]


def test_an_unrecognised_or_deleted_customer_is_not_found(gateway: StripeBilling) -> None:
    account = gateway.create_account("001e", ACCOUNT, uid())
    gateway.http.delete(f"/v1/customers/{account.billing_id}")
    with pytest.raises(NotFound):
        gateway.get_account(account.billing_id)


def test_find_account_escapes_quotes_in_the_crm_id(gateway: StripeBilling) -> None:
    created = gateway.create_account("001'q\\", ACCOUNT, uid())
    assert gateway.find_account("001'q\\").billing_id == created.billing_id
    assert gateway.find_account("001'q") is None


def test_an_account_value_stripe_cannot_hold_is_a_permanent_error_naming_the_field(gateway: StripeBilling) -> None:
    with pytest.raises(PermanentError) as caught:
        gateway.create_account("001f", {**ACCOUNT, "phone": "+44 (0) 20 7946 0000 x12"}, uid())
    assert caught.value.field == "phone"


def test_ensure_product_survives_a_concurrent_create(gateway: StripeBilling, monkeypatch: Any) -> None:
    product = ProductSnapshot("01tX", "SKU-RACE", "Widget")
    gateway.ensure_product(product, uid())  # "another worker" made it
    real_get, calls = gateway.http.get, []

    def first_get_misses(path: str, params: Any = None) -> Any:
        calls.append(path)
        if len(calls) == 1:
            raise NotFound("scripted: not there yet")
        return real_get(path, params)

    monkeypatch.setattr(gateway.http, "get", first_get_misses)
    renamed = ProductSnapshot("01tX", "SKU-RACE", "Widget Pro")
    assert gateway.ensure_product(renamed, uid()).product_id == "concord_sku_SKU-RACE"
    assert real_get("/v1/products/concord_sku_SKU-RACE").body["name"] == "Widget Pro"


def test_create_price_reuses_the_active_identical_price_under_a_new_key(gateway: StripeBilling) -> None:
    product = gateway.ensure_product(ProductSnapshot("01tP", "SKU-P", "Widget"), uid())
    spec = PriceSpec(Money(Decimal("9.995"), "EUR"), BillingPeriod.QUARTER)
    first = gateway.create_price(product, spec, uid())
    assert gateway.create_price(product, spec, uid()) == first
    gateway.retire_price(product, first, uid())
    assert gateway.create_price(product, spec, uid()) != first


def test_an_amendment_already_applied_sends_nothing(gateway: StripeBilling, sandbox: StripeSandbox) -> None:
    account, price, sub = subscribe(gateway)
    request = SubscriptionRequest("801A", account, "EUR", date(2026, 1, 15), 12, (SubscriptionItem("SKU-A", price,
                                                                                                  None, 4),))
    gateway.amend_subscription(sub, request, uid())
    posts = sandbox.stats["POST /v1/subscriptions/(?P<id>[^/]+)"]
    assert gateway.amend_subscription(sub, request, uid()).items[0].quantity == 4
    assert sandbox.stats["POST /v1/subscriptions/(?P<id>[^/]+)"] == posts


def test_a_future_cancellation_is_scheduled_then_ends_with_the_clock(gateway: StripeBilling, admin: Any) -> None:
    _, _, sub = subscribe(gateway)
    scheduled = gateway.cancel_subscription(sub, date(2026, 1, 15) + timedelta(days=400), uid())
    assert scheduled.status == "cancelled" and scheduled.cancelled_on == date(2027, 2, 19)
    assert gateway.http.get(f"/v1/subscriptions/{sub}").body["status"] == "active"  # Stripe keeps it live
    gateway.today = lambda: date(2026, 1, 1)
    now = gateway.cancel_subscription(sub, date(2025, 12, 31), uid())
    assert now.status == "cancelled" and gateway.http.get(f"/v1/subscriptions/{sub}").body["status"] == "canceled"


def test_a_failed_payment_shows_on_the_account_and_the_subscription_stays_active(gateway: StripeBilling,
                                                                                  admin: Any) -> None:
    account, _, sub = subscribe(gateway)
    admin("invoices", {"subscription": sub, "outcome": "payment_failed"})
    assert gateway.get_account(account).payment_state == "failed"
    assert gateway.get_subscription(sub).status == "active"
    admin("invoices", {"subscription": sub, "outcome": "paid"})
    assert gateway.get_account(account).payment_state == "current"


def test_subscribing_a_missing_customer_is_permanent_naming_the_param(gateway: StripeBilling) -> None:
    _, price, _ = subscribe(gateway)
    request = SubscriptionRequest("801B", "cus_missing", "EUR", date(2026, 1, 15), 12,
                                  (SubscriptionItem("SKU-A", price, None, 1),))
    with pytest.raises(PermanentError) as caught:
        gateway.create_subscription(request, uid())
    assert caught.value.field == "customer"


def test_429s_past_the_sandbox_limit_are_absorbed_by_retries() -> None:
    stripe = StripeSandbox([KEY], rate_limit_per_s=5)
    try:
        http = make_http(stripe.start(), attempts=30)
        assert all(http.get("/v1/customers").body["object"] == "list" for _ in range(12))
        assert stripe.stats.get("GET /v1/customers", 0) <= 12  # refused requests never reach the endpoint
    finally:
        stripe.stop()


def test_the_sandbox_webhooks_verify_with_the_adapters_verifier() -> None:
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(verify_signature(body, self.headers["Stripe-Signature"], ["whsec_b"], now=time.time()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stripe = StripeSandbox([KEY], webhook_url=f"http://127.0.0.1:{server.server_address[1]}/",
                           webhook_secrets=["whsec_a", "whsec_b"])
    try:
        gateway = StripeBilling(make_http(stripe.start()))
        _, _, sub = subscribe(gateway)
        gateway.suspend_subscription(sub, uid())
        wanted = {"customer.created", "customer.subscription.created", "customer.subscription.updated"}
        deadline = time.monotonic() + 5
        while not wanted <= {event["type"] for event in received} and time.monotonic() < deadline:
            time.sleep(0.02)
        assert wanted <= {event["type"] for event in received}
    finally:
        stripe.stop()
        server.shutdown()


def test_the_cli_parser_takes_repeated_keys_secrets_and_faults() -> None:
    args = build_parser().parse_args(["--port", "0", "--api-key", "sk_a", "--api-key", "rk_b", "--webhook-url",
                                      "http://hook", "--webhook-secret", "s1", "--webhook-secret", "s2",
                                      "--error-rate", "0.1", "--drop-event-rate", "0.5"])
    assert args.api_keys == ["sk_a", "rk_b"] and args.webhook_secrets == ["s1", "s2"]
    assert (args.error_rate, args.drop_event_rate, args.latency_ms, args.rate_limit) == (0.1, 0.5, None, 25)


def test_the_cli_serves_a_sandbox_on_the_chosen_port() -> None:
    code = "from infrastructure.sandboxes.stripe import main; main(['--port', '0', '--api-key', 'sk_cli'])"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        url = (process.stdout.readline() if process.stdout else "").split()[-1]
        assert httpx.get(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_cli"}).status_code == 200
        assert httpx.get(f"{url}/v1/customers", headers={"Authorization": "Bearer sk_other"}).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- concord's use cases on Stripe: a change refused because a clerk cancelled the subscription meanwhile --


def _world_on(gateway: StripeBilling) -> Any:
    from application.services import Services
    from tests.unit.conftest import World

    world = World()
    world.billing = gateway  # type: ignore[assignment]
    world.services = Services(world.app, world.crm, gateway, integration_client="concord")
    return world


def test_a_crm_change_to_an_order_a_clerk_cancelled_in_stripe_follows_stripe_instead_of_dead_lettering(
        gateway: StripeBilling) -> None:
    from domain.order import Order, OrderStatus

    world = _world_on(gateway)
    world.new_account()
    world.product()
    world.order()
    order = world.app.get_or_none(Order, "801O")
    gateway.cancel_subscription(order.subscription["id"], date(2026, 1, 15), uid())  # a clerk; callout lost
    with pytest.raises(PermanentError, match="canceled subscription can only update"):  # Stripe's own answer
        gateway.suspend_subscription(order.subscription["id"], uid())

    outcome = world.order(quantity=5)  # a quantity change in the CRM: the amendment is refused by Stripe

    assert outcome.action == "cancelled"
    assert world.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED
    assert [i.quantity for i in gateway.get_subscription(order.subscription["id"]).items] == [2]
