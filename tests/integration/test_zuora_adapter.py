"""ZuoraBilling against the Zuora sandbox over real HTTP: the failure paths the contract suite does not
walk (expired tokens, throttling, 5xx, dropped connections, orders that outlive the client's timeout)
and Zuora-specific rules (payment terms, currency, payments, versioned prices)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
from adapters.outbound import RetryPolicy
from application.errors import CredentialsRevoked, PermanentError
from domain.canonical import PriceSpec, ProductSnapshot, SubscriptionItem, SubscriptionRequest
from domain.values import BillingPeriod, Money
from infrastructure.sandboxes.zuora import ZuoraSandbox, build_parser
from infrastructure.sandboxes.zuora.cli import sandbox_from

ID, SECRET = "integration-client", "integration-secret"
FIELDS = {"name": "Globex Corporation", "currency": "USD", "email": "ap@globex.example",
          "bill_to.city": "Springfield", "bill_to.country": "US", "sold_to.street": "10 Downing Street",
          "sold_to.city": "London", "sold_to.postal_code": "SW1A 2AA", "sold_to.country": "GB"}


def uid() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ZuoraSandbox]:
    sandbox = ZuoraSandbox(ID, SECRET, callout_retry_delay_s=0.01)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def admin(sandbox: ZuoraSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        yield client


@pytest.fixture
def fresh(sandbox: ZuoraSandbox, admin: httpx.Client) -> ZuoraSandbox:
    admin.post("/__sandbox/reset")
    admin.post("/__sandbox/faults", json={})
    admin.post("/__sandbox/order-delay", json={"seconds": 0})
    return sandbox


def gateway_on(url: str, *, timeout_s: float = 10.0, attempts: int = 6, secret: str = SECRET) -> ZuoraBilling:
    auth = ZuoraAuth(url, ID, secret)
    client = ZuoraClient(url, tokens=auth.tokens(), timeout_s=timeout_s,
                         retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.05, max_delay_s=0.5))
    return ZuoraBilling(client)


@pytest.fixture(scope="module")
def shared_gateway(sandbox: ZuoraSandbox) -> ZuoraBilling:
    return gateway_on(sandbox.url)


@pytest.fixture
def gateway(fresh: ZuoraSandbox, shared_gateway: ZuoraBilling) -> ZuoraBilling:
    return shared_gateway


def a_price(gateway: ZuoraBilling, amount: str = "49.99") -> tuple[str, object, str]:
    sku = f"SKU-{uid()}"
    product = gateway.ensure_product(ProductSnapshot(f"01t{uid()}", sku, "Widget"), f"p-{uid()}")
    spec = PriceSpec(Money(Decimal(amount), "USD"), BillingPeriod.MONTH)
    return sku, product, gateway.create_price(product, spec, f"pr-{uid()}")


def request_for(account_id: str, items: tuple[SubscriptionItem, ...], order: str | None = None) -> SubscriptionRequest:
    return SubscriptionRequest(order or f"801{uid()}", account_id, "USD", date(2026, 12, 1), 12, items)


def test_an_expired_token_is_replaced_without_the_caller_noticing(gateway, admin):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    admin.post("/__sandbox/expire-tokens")
    assert gateway.get_account(account.billing_id).billing_id == account.billing_id


def test_a_wrong_client_secret_is_credentials_revoked(fresh):
    with pytest.raises(CredentialsRevoked):
        gateway_on(fresh.url, secret="wrong").get_account("anything")


def test_throttling_is_waited_out_with_ratelimit_reset():
    throttled = ZuoraSandbox(ID, SECRET, rate_limit=(3, 1.0))
    url = throttled.start()
    try:
        gateway = gateway_on(url, attempts=4)
        results = [gateway.find_account(f"001{uid()}") for _ in range(6)]
        assert results == [None] * 6 and throttled.stats["429"] >= 1
    finally:
        throttled.stop()


def test_injected_5xx_are_retried_and_the_account_is_created_once(gateway, admin):
    admin.post("/__sandbox/faults", json={"error_rate": 0.4, "seed": 7})
    crm_id = f"001{uid()}"
    account = gateway.create_account(crm_id, FIELDS, f"k-{uid()}")
    admin.post("/__sandbox/faults", json={})
    assert gateway.find_account(crm_id).billing_id == account.billing_id


def test_dropped_connections_are_settled_by_the_idempotency_key(gateway, admin):
    admin.post("/__sandbox/faults", json={"drop_rate": 0.4, "seed": 3})
    crm_id, key = f"001{uid()}", f"k-{uid()}"
    first = gateway.create_account(crm_id, FIELDS, key)
    admin.post("/__sandbox/faults", json={})
    rows = admin.get("/__sandbox/stats").json()
    assert gateway.find_account(crm_id).billing_id == first.billing_id and rows.get("fault:drop", 0) >= 1


def test_an_order_that_outlives_the_client_timeout_is_created_once(fresh, admin):
    gateway = gateway_on(fresh.url, timeout_s=0.5, attempts=12)
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    sku, _, price = a_price(gateway)
    admin.post("/__sandbox/order-delay", json={"seconds": 1.2})
    request = request_for(account.billing_id, (SubscriptionItem(sku, price, None, 2),))
    try:
        created = gateway.create_subscription(request, f"k-{uid()}")
    finally:
        admin.post("/__sandbox/order-delay", json={"seconds": 0})
    assert created.status == "active"
    assert gateway.find_subscription(request.order_crm_id).billing_id == created.billing_id
    assert fresh.stats["POST ^/v1/orders$"] >= 2  # asked again with the key, and one subscription was made


def test_a_payment_term_the_tenant_lacks_names_the_field(gateway):
    with pytest.raises(PermanentError) as error:
        gateway.create_account(f"001{uid()}", {**FIELDS, "payment_terms": "Net 7"}, f"k-{uid()}")
    assert error.value.field == "paymentTerm"


def test_the_currency_of_an_account_cannot_change(gateway):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    with pytest.raises(PermanentError) as error:
        gateway.update_account(account.billing_id, {"currency": "EUR"}, f"k-{uid()}")
    assert error.value.field == "currency"
    assert gateway.update_account(account.billing_id, {"currency": "usd"}, f"k-{uid()}").fields["currency"] == "USD"


def test_sold_to_and_countries_round_trip(gateway):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    fetched = gateway.get_account(account.billing_id)
    for name, value in FIELDS.items():
        assert fetched.fields[name] == value, name


def test_a_failed_payment_shows_as_failed_until_it_is_paid(gateway, admin):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    admin.post("/__sandbox/payments", json={"accountNumber": account.account_number, "outcome": "failed",
                                            "amount": "99.98"})
    overdue = gateway.get_account(account.billing_id)
    assert (overdue.payment_state, overdue.balance) == ("failed", Decimal("99.98"))
    admin.post("/__sandbox/payments", json={"accountNumber": account.account_number, "outcome": "processed"})
    paid = gateway.get_account(account.billing_id)
    assert (paid.payment_state, paid.balance) == ("current", Decimal("0"))
    assert account.version < overdue.version < paid.version


def test_an_amendment_can_add_one_price_and_drop_another(gateway):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    sku_a, _, price_a = a_price(gateway)
    sku_b, _, price_b = a_price(gateway, "5")
    sub = gateway.create_subscription(request_for(account.billing_id, (SubscriptionItem(sku_a, price_a, None, 1),)),
                                      f"k-{uid()}")
    amended = gateway.amend_subscription(
        sub.billing_id, request_for(account.billing_id, (SubscriptionItem(sku_b, price_b, None, 4),)), f"k-{uid()}")
    assert [(i.sku, i.price_id, i.quantity) for i in amended.items] == [(sku_b, price_b, 4)]
    assert int(amended.version) == int(sub.version) + 1


def test_a_new_price_version_sells_while_the_retired_one_does_not(gateway):
    account = gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}")
    sku, product, old = a_price(gateway)
    new = gateway.create_price(product, PriceSpec(Money(Decimal("59.99"), "USD"), BillingPeriod.MONTH), f"k-{uid()}")
    gateway.retire_price(product, old, f"k-{uid()}")
    sub = gateway.create_subscription(request_for(account.billing_id, (SubscriptionItem(sku, new, None, 1),)),
                                      f"k-{uid()}")
    assert [i.price_id for i in sub.items] == [new]
    plans = gateway.client.call("GET", f"/v1/catalog/product/{product.product_id}")["productRatePlans"]
    assert sorted(p["name"] for p in plans) == ["USD month v1", "USD month v2"]


def test_product_details_are_updated_in_place(gateway):
    sku = f"SKU-{uid()}"
    first = gateway.ensure_product(ProductSnapshot("01tA", sku, "Widget"), f"k-{uid()}")
    again = gateway.ensure_product(ProductSnapshot("01tA", sku, "Widget Pro", "Now with more"), f"k-{uid()}")
    catalog = gateway.client.call("GET", f"/v1/catalog/product/{sku}")
    assert first == again and (catalog["name"], catalog["description"]) == ("Widget Pro", "Now with more")


def test_two_accounts_with_one_crm_id_are_reported_not_guessed(gateway):
    crm_id = f"001{uid()}"
    gateway.create_account(crm_id, FIELDS, f"k-{uid()}")
    gateway.create_account(crm_id, FIELDS, f"k-{uid()}")
    with pytest.raises(PermanentError) as error:
        gateway.find_account(crm_id)
    assert error.value.code == "DUPLICATE_CRM_ID"


def test_listing_with_a_large_limit_asks_for_zuoras_largest_page(gateway):
    made = {gateway.create_account(f"001{uid()}", FIELDS, f"k-{uid()}").billing_id for _ in range(3)}
    page = gateway.list_accounts(None, 500)
    assert made <= {a.billing_id for a in page.items} and page.next_cursor is None


def test_an_unknown_order_has_no_subscription(gateway):
    assert gateway.find_subscription(f"801{uid()}") is None


def test_the_cli_builds_a_sandbox_with_its_faults():
    args = build_parser().parse_args(["--port", "0", "--client-id", "a", "--client-secret", "b", "--token-lifetime",
                                      "60", "--error-rate", "0.25", "--callout-url", "http://127.0.0.1:9/x"])
    sandbox = sandbox_from(args)
    assert sandbox.faults.error_rate == 0.25 and sandbox.tokens.lifetime_s == 60
    assert sandbox.callouts.url == "http://127.0.0.1:9/x"


# -- concord's use cases on Zuora ----------------------------------------------------------------------------


def _world_on(gateway: ZuoraBilling):
    from application.services import Services
    from tests.unit.conftest import World

    world = World()
    world.billing = gateway
    world.services = Services(world.app, world.crm, gateway, integration_client="concord")
    return world


def test_a_payment_failure_on_an_order_a_clerk_cancelled_in_zuora_follows_zuora_instead_of_dead_lettering(
        gateway, admin):
    from application.commands import ApplyBillingTrigger
    from application.handlers import handle
    from domain.order import Order, OrderStatus

    world = _world_on(gateway)
    world.new_account()
    world.product()
    world.order()
    order = world.app.get_or_none(Order, "801O")
    gateway.cancel_subscription(order.subscription["id"], date(2026, 12, 1), f"k-{uid()}")  # callout lost
    [account] = [a for a in [gateway.find_account("001A")] if a is not None]
    admin.post("/__sandbox/payments", json={"accountNumber": account.account_number, "outcome": "failed",
                                            "amount": "20.00"})

    handle(ApplyBillingTrigger("payment", "P-1", account.billing_id, "PaymentFailed", "corr-z"), world.services)

    assert world.app.get_or_none(Order, "801O").status == OrderStatus.CANCELLED


def test_an_order_retried_after_its_rate_plan_expired_is_repriced_only_once_the_crm_order_sells_at_the_new_price(
        gateway):
    from application.errors import RetryableError
    from domain.order import Order, OrderStatus

    world = _world_on(gateway)
    world.new_account()
    world.product(amount="10.00")
    create, attempts = gateway.create_subscription, []

    def unavailable_once(request, key):
        attempts.append([item.price_id for item in request.items])
        if len(attempts) == 1:
            raise RetryableError("zuora 503", code="503")  # the create never reached Zuora
        return create(request, key)

    gateway.create_subscription = unavailable_once
    try:
        with pytest.raises(RetryableError):
            world.order(amount="10.00")
        old_plan = world.app.get_or_none(Order, "801O").prices["WIDGET"]
        world.product(amount="12.00")  # the price changes; its old rate plan ends today in Zuora

        with pytest.raises(PermanentError) as refused:  # Zuora: the old plan is not effective on 2026-12-01
            world.order(amount="10.00")
        assert refused.value.code == "PRICE_DISAGREES_WITH_ORDER" and "53100330" in refused.value.message
        assert world.app.get_or_none(Order, "801O").status == OrderStatus.SUBMITTED

        world.order(amount="12.00")  # the CRM order now sells at 12.00
    finally:
        gateway.create_subscription = create
    order = world.app.get_or_none(Order, "801O")
    assert order.status == OrderStatus.ACTIVE and order.prices["WIDGET"] != old_plan
    subscription = gateway.get_subscription(order.subscription["id"])
    assert [i.price_id for i in subscription.items] == [order.prices["WIDGET"]]
