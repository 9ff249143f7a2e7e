"""The Stripe sandbox held to VENDORS.md (§0 #11-#12 and §3) over raw HTTP: no concord adapter here.

One test per vendor fact. Facts VENDORS.md marks UNVERIFIED, and sandbox answers whose exact shape no
source confirms, say "UNVERIFIED:" in their docstring.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from infrastructure.sandboxes.stripe import StripeSandbox

KEY = "sk_test_conformance_4242"
SECRETS = ("whsec_old_secret", "whsec_new_secret")


class Receiver:
    """A webhook endpoint: records raw deliveries; answers `fail_first` deliveries with 500."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                failing = receiver.fail_first > 0
                receiver.fail_first -= 1 if failing else 0
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self, type_: str | None = None) -> list[dict[str, Any]]:
        found = [json.loads(body) for _, body in self.deliveries]
        return [event for event in found if type_ is None or event["type"] == type_]

    def wait_for(self, count: int, type_: str | None = None, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.events(type_)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.events(type_)


class Api:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)

    def post(self, path: str, data: dict[str, Any] | None = None, key: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return self.http.post(path, data=data or {}, headers=headers, **kw)

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def admin(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/__sandbox/{path}", json=body)

    def product_and_price(self, amount: int = 1000, interval: str = "month") -> tuple[str, str]:
        product = self.post("/v1/products", {"name": "Widget"}).json()["id"]
        price = self.post("/v1/prices", {"product": product, "currency": "eur", "unit_amount": amount,
                                         "recurring[interval]": interval}).json()["id"]
        return product, price

    def subscription(self, customer: str, price: str, **extra: Any) -> httpx.Response:
        data = {"customer": customer, "items[0][price]": price, "items[0][quantity]": 2,
                "collection_method": "send_invoice", "days_until_due": 30, **extra}
        return self.post("/v1/subscriptions", data)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    yield endpoint
    endpoint.server.shutdown()


@pytest.fixture(scope="module")
def sandbox(receiver: Receiver) -> Iterator[StripeSandbox]:
    stripe = StripeSandbox([KEY], webhook_url=receiver.url, webhook_secrets=SECRETS, rate_limit_per_s=10_000,
                           webhook_retry_delays_s=(0.05, 0.05, 0.05))
    stripe.start()
    yield stripe
    stripe.stop()


@pytest.fixture
def api(sandbox: StripeSandbox, receiver: Receiver) -> Iterator[Api]:
    client = Api(sandbox.url)
    client.admin("reset", {})
    client.admin("faults", {})
    receiver.deliveries.clear()
    receiver.fail_first = 0
    yield client
    client.http.close()


def error_of(response: httpx.Response) -> dict[str, Any]:
    return response.json()["error"]


# -- §0 #11: form encoding, error shape ------------------------------------------------------------
def test_a_form_encoded_body_with_bracket_notation_creates_the_object(api: Api) -> None:
    response = api.post("/v1/customers", {"name": "Acme", "metadata[crm_id]": "001A", "address[city]": "Paris"})
    assert response.status_code == 200
    customer = response.json()
    assert customer["metadata"] == {"crm_id": "001A"} and customer["address"]["city"] == "Paris"


def test_a_json_body_is_refused_as_an_invalid_request(api: Api) -> None:
    """UNVERIFIED: the exact message; Stripe's v1 spec lists only form-encoded request bodies."""
    response = api.http.post("/v1/customers", json={"name": "Acme"})
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"
    assert "x-www-form-urlencoded" in error_of(response)["message"]
    assert api.get("/v1/customers").json()["data"] == []


def test_errors_carry_type_code_message_param_and_doc_url(api: Api) -> None:
    response = api.post("/v1/prices", {"unit_amount": 100})
    assert response.status_code == 400
    error = error_of(response)
    assert error["type"] == "invalid_request_error" and error["code"] == "parameter_missing"
    assert error["param"] in ("currency", "product") and error["message"]
    assert error["doc_url"].startswith("https://stripe.com/docs/error-codes/")


def test_an_unknown_object_is_404_resource_missing(api: Api) -> None:
    response = api.get("/v1/customers/cus_doesnotexist")
    assert response.status_code == 404
    assert error_of(response)["code"] == "resource_missing" and "cus_doesnotexist" in error_of(response)["message"]


def test_an_invalid_api_key_is_401_and_the_key_is_masked(api: Api) -> None:
    response = httpx.get(f"{api.url}/v1/customers", headers={"Authorization": "Bearer sk_test_wrongkey9999"})
    assert response.status_code == 401
    assert error_of(response)["type"] == "invalid_request_error"
    assert error_of(response)["message"].startswith("Invalid API Key provided: sk_test_")
    assert "wrongkey" not in error_of(response)["message"] and error_of(response)["message"].endswith("9999")


def test_the_key_is_accepted_as_basic_auth_user_name_too(api: Api) -> None:
    assert httpx.get(f"{api.url}/v1/customers", auth=(KEY, "")).status_code == 200


# -- §0 #11: idempotency ---------------------------------------------------------------------------
def test_the_same_key_replays_the_first_response(api: Api) -> None:
    first = api.post("/v1/customers", {"name": "Acme"}, key="idem-1")
    second = api.post("/v1/customers", {"name": "Acme"}, key="idem-1")
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(api.get("/v1/customers").json()["data"]) == 1


def test_the_first_response_is_replayed_even_a_500(api: Api) -> None:
    api.admin("fail-next", {"count": 1, "kind": "saved_500"})
    first = api.post("/v1/customers", {"name": "Acme"}, key="idem-500")
    again = api.post("/v1/customers", {"name": "Acme"}, key="idem-500")
    assert first.status_code == again.status_code == 500
    assert again.json() == first.json() and error_of(again)["type"] == "api_error"
    assert api.post("/v1/customers", {"name": "Acme"}, key="idem-fresh").status_code == 200


def test_reusing_a_key_with_other_parameters_is_an_idempotency_error(api: Api) -> None:
    api.post("/v1/customers", {"name": "Acme"}, key="idem-2")
    response = api.post("/v1/customers", {"name": "Other"}, key="idem-2")
    assert response.status_code == 400 and error_of(response)["type"] == "idempotency_error"


def test_a_key_longer_than_255_characters_is_refused(api: Api) -> None:
    """UNVERIFIED: the answer's exact shape; the 255-character limit is Stripe's."""
    assert api.post("/v1/customers", {"name": "Acme"}, key="k" * 255).status_code == 200
    assert api.post("/v1/customers", {"name": "Acme"}, key="k" * 256).status_code == 400


def test_keys_are_pruned_after_24_hours(api: Api) -> None:
    first = api.post("/v1/customers", {"name": "Acme"}, key="idem-old").json()
    api.admin("clock", {"advance_seconds": 24 * 3600 + 1})
    later = api.post("/v1/customers", {"name": "Other"}, key="idem-old")
    assert later.status_code == 200 and later.json()["id"] != first["id"]


def test_a_validation_failure_is_not_saved_under_the_key(api: Api) -> None:
    refused = api.post("/v1/customers", {"name": "Acme", "bogus": "x"}, key="idem-3")
    assert refused.status_code == 400 and error_of(refused)["code"] == "parameter_unknown"
    assert api.post("/v1/customers", {"name": "Acme"}, key="idem-3").status_code == 200


def test_a_concurrent_request_with_the_same_key_is_a_409_conflict(api: Api) -> None:
    """UNVERIFIED: type idempotency_error with code idempotency_key_in_use (the code is in Stripe's SDKs)."""
    api.admin("faults", {"latency_ms": 300})
    answers: list[httpx.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(
        httpx.post(f"{api.url}/v1/customers", data={"name": "Acme"},
                   headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "idem-race"}, timeout=10)))
        for _ in range(2)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200, 409]
    conflict = next(answer for answer in answers if answer.status_code == 409)
    assert error_of(conflict)["code"] == "idempotency_key_in_use"


# -- §0 #11: Stripe-Should-Retry, rate limits ------------------------------------------------------
def test_a_saved_500_says_stripe_should_retry_false(api: Api) -> None:
    """UNVERIFIED: from stripe-node's retry code ("we expect the stripe-should-retry header to be false in
    most cases when a 500 is returned, since our idempotency framework would typically replay it")."""
    api.admin("fail-next", {"count": 1, "kind": "saved_500"})
    assert api.post("/v1/customers", {"name": "A"}, key="idem-4").headers.get("Stripe-Should-Retry") == "false"


def test_a_lock_timeout_says_stripe_should_retry_true_and_is_not_saved(api: Api) -> None:
    """UNVERIFIED: lock timeouts as 429 code lock_timeout with Stripe-Should-Retry: true (stripe-node:
    "advise us to retry (e.g., in cases of lock timeouts)")."""
    api.admin("fail-next", {"count": 1, "kind": "lock_timeout"})
    locked = api.post("/v1/customers", {"name": "A"}, key="idem-5")
    assert locked.status_code == 429 and locked.headers.get("Stripe-Should-Retry") == "true"
    assert error_of(locked)["code"] == "lock_timeout"
    assert api.post("/v1/customers", {"name": "A"}, key="idem-5").status_code == 200


def test_more_than_25_requests_a_second_are_answered_429_before_the_idempotency_layer() -> None:
    """UNVERIFIED: the 429 body (type invalid_request_error, code rate_limit); 25/s is Stripe's sandbox limit,
    and "rate limiters run before the API's idempotency layer" (docs.stripe.com/error-low-level)."""
    stripe = StripeSandbox([KEY])
    url = stripe.start()
    try:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http:
            statuses = [http.get("/v1/customers").status_code for _ in range(60)]
            assert statuses.count(429) >= 60 - 50  # at most two one-second windows' worth passed
            while http.get("/v1/customers").status_code != 429:
                pass
            limited = http.post("/v1/customers", data={"name": "A"}, headers={"Idempotency-Key": "rl"})
            assert limited.status_code == 429 and error_of(limited)["type"] == "invalid_request_error"
            time.sleep(1.05)
            retried = http.post("/v1/customers", data={"name": "A"}, headers={"Idempotency-Key": "rl"})
            assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers
    finally:
        stripe.stop()


# -- §3: objects, lists, search, prices ------------------------------------------------------------
def test_objects_carry_their_id_prefix_object_created_livemode_and_metadata(api: Api) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()
    product, price = api.product_and_price()
    sub = api.subscription(customer["id"], price).json()
    for obj, prefix, kind in ((customer, "cus_", "customer"), (api.get(f"/v1/products/{product}").json(),
                                                                 "prod_", "product"),
                              (api.get(f"/v1/prices/{price}").json(), "price_", "price"),
                              (sub, "sub_", "subscription")):
        assert obj["id"].startswith(prefix) and obj["object"] == kind, kind
        assert isinstance(obj["created"], int) and obj["livemode"] is False and obj["metadata"] == {}
    assert sub["items"]["data"][0]["id"].startswith("si_") and sub["latest_invoice"].startswith("in_")


def test_lists_are_newest_first_with_limit_starting_after_and_has_more(api: Api) -> None:
    made = [api.post("/v1/customers", {"name": f"C{i}"}).json()["id"] for i in range(5)]
    first = api.get("/v1/customers", limit=2).json()
    assert first["object"] == "list" and first["has_more"] is True
    assert [c["id"] for c in first["data"]] == made[::-1][:2]
    rest = api.get("/v1/customers", limit=10, starting_after=first["data"][-1]["id"]).json()
    assert [c["id"] for c in rest["data"]] == made[::-1][2:] and rest["has_more"] is False
    assert api.get("/v1/customers", limit=101).status_code == 400


def test_customers_are_found_by_a_metadata_search(api: Api) -> None:
    wanted = api.post("/v1/customers", {"name": "Acme", "metadata[crm_id]": "001X'1"}).json()
    api.post("/v1/customers", {"name": "Other", "metadata[crm_id]": "001Y"})
    result = api.get("/v1/customers/search", query="metadata['crm_id']:'001X\\'1'").json()
    assert result["object"] == "search_result" and [c["id"] for c in result["data"]] == [wanted["id"]]
    assert api.get("/v1/customers/search", query="metadata['crm_id']:'nobody'").json()["data"] == []


def test_search_is_eventually_consistent() -> None:
    """docs.stripe.com/search, Data freshness: "data is searchable in under 1 minute" (a lag we configure)."""
    stripe = StripeSandbox([KEY], search_lag_s=30)
    api = Api(stripe.start())
    try:
        api.post("/v1/customers", {"name": "Acme", "metadata[crm_id]": "001Z"})
        query = "metadata['crm_id']:'001Z'"
        assert api.get("/v1/customers/search", query=query).json()["data"] == []
        assert len(api.get("/v1/customers").json()["data"]) == 1  # a list is consistent at once
        api.admin("clock", {"advance_seconds": 31})
        assert len(api.get("/v1/customers/search", query=query).json()["data"]) == 1
    finally:
        stripe.stop()


def test_a_price_amount_cannot_change_but_active_metadata_and_nickname_can(api: Api) -> None:
    _, price = api.product_and_price()
    refused = api.post(f"/v1/prices/{price}", {"unit_amount": 2000})
    assert refused.status_code == 400 and error_of(refused)["param"] == "unit_amount"
    retired = api.post(f"/v1/prices/{price}", {"active": "false", "nickname": "old", "metadata[v]": "1"}).json()
    assert retired["active"] is False and retired["nickname"] == "old" and retired["unit_amount"] == 1000


def test_a_deleted_customer_is_retrieved_as_a_tombstone(api: Api) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    assert api.http.delete(f"/v1/customers/{customer}").json() == {"id": customer, "object": "customer",
                                                                   "deleted": True}
    assert api.get(f"/v1/customers/{customer}").json()["deleted"] is True


# -- §3: subscriptions --------------------------------------------------------------------------------
def test_an_invoiced_subscription_is_active_and_a_card_one_without_payment_method_incomplete(api: Api) -> None:
    """UNVERIFIED: charge_automatically without a payment method starts `incomplete` (first invoice unpaid)."""
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    _, price = api.product_and_price()
    assert api.subscription(customer, price).json()["status"] == "active"
    card = api.post("/v1/subscriptions", {"customer": customer, "items[0][price]": price}).json()
    assert card["status"] == "incomplete"


def test_pause_collection_is_set_and_unset_with_an_empty_string(api: Api) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    sub = api.subscription(customer, api.product_and_price()[1]).json()["id"]
    paused = api.post(f"/v1/subscriptions/{sub}", {"pause_collection[behavior]": "void"}).json()
    assert paused["pause_collection"]["behavior"] == "void" and paused["status"] == "active"
    assert api.post(f"/v1/subscriptions/{sub}", {"pause_collection": ""}).json()["pause_collection"] is None


def test_cancel_at_period_end_keeps_it_active_and_delete_cancels_now(api: Api, receiver: Receiver) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    sub = api.subscription(customer, api.product_and_price()[1]).json()
    later = api.post(f"/v1/subscriptions/{sub['id']}", {"cancel_at_period_end": "true"}).json()
    assert later["status"] == "active" and later["cancel_at"] == sub["current_period_end"]
    ended = api.http.delete(f"/v1/subscriptions/{sub['id']}").json()
    assert ended["status"] == "canceled" and ended["canceled_at"] and ended["ended_at"]
    assert receiver.wait_for(1, "customer.subscription.deleted")[0]["data"]["object"]["id"] == sub["id"]
    assert api.get("/v1/subscriptions").json()["data"] == []  # canceled ones are left out by default
    assert len(api.get("/v1/subscriptions", status="all").json()["data"]) == 1


def test_a_subscription_ends_when_its_cancel_at_passes(api: Api) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    sub = api.subscription(customer, api.product_and_price()[1]).json()
    api.post(f"/v1/subscriptions/{sub['id']}", {"cancel_at": sub["created"] + 3600})
    api.admin("clock", {"advance_seconds": 3601})
    assert api.get(f"/v1/subscriptions/{sub['id']}").json()["status"] == "canceled"


def test_a_failed_invoice_makes_it_past_due_and_a_paid_one_active_again(api: Api, receiver: Receiver) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}).json()["id"]
    sub = api.subscription(customer, api.product_and_price()[1]).json()["id"]
    failed = api.admin("invoices", {"subscription": sub, "outcome": "payment_failed"}).json()
    assert failed["id"].startswith("in_") and failed["status"] == "open"
    assert api.get(f"/v1/subscriptions/{sub}").json()["status"] == "past_due"
    assert api.get(f"/v1/customers/{customer}").json()["delinquent"] is True
    assert receiver.wait_for(1, "invoice.payment_failed")[0]["data"]["object"]["subscription"] == sub
    api.admin("invoices", {"subscription": sub, "outcome": "paid"})
    assert api.get(f"/v1/subscriptions/{sub}").json()["status"] == "active"
    updated = receiver.wait_for(2, "customer.subscription.updated")
    assert updated[-1]["data"]["previous_attributes"] == {"status": "past_due"}


# -- §0 #12 and §3: webhooks -------------------------------------------------------------------------
def test_webhooks_are_signed_hmac_sha256_of_t_dot_raw_body_with_every_secret(api: Api, receiver: Receiver) -> None:
    api.post("/v1/customers", {"name": "Acme"})
    headers, body = receiver.wait_for(1) and receiver.deliveries[0]
    items = [item.split("=", 1) for item in headers["stripe-signature"].split(",")]
    t = next(value for key, value in items if key == "t")
    v1 = [value for key, value in items if key == "v1"]
    expected = [hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest() for secret in SECRETS]
    assert v1 == expected  # one v1 per configured secret: a receiver mid-rotation verifies with either
    assert abs(int(t) - time.time()) < 300


def test_events_have_stripes_shape(api: Api, receiver: Receiver) -> None:
    customer = api.post("/v1/customers", {"name": "Acme"}, key="idem-evt").json()
    api.post(f"/v1/customers/{customer['id']}", {"name": "Acme Ltd"})
    created, updated = receiver.wait_for(1, "customer.created")[0], receiver.wait_for(1, "customer.updated")[0]
    assert created["id"].startswith("evt_") and created["object"] == "event" and created["livemode"] is False
    assert {"api_version", "created", "data", "pending_webhooks", "request", "type"} <= set(created)
    assert created["request"]["idempotency_key"] == "idem-evt" and created["request"]["id"].startswith("req_")
    assert created["data"]["object"]["id"] == customer["id"] and "previous_attributes" not in created["data"]
    assert updated["data"]["previous_attributes"] == {"name": "Acme"}
    assert {e["id"] for e in api.get("/v1/events").json()["data"]} == {created["id"], updated["id"]}


def test_a_webhook_answered_non_2xx_is_retried(api: Api, receiver: Receiver) -> None:
    receiver.fail_first = 2
    api.post("/v1/customers", {"name": "Acme"})
    deliveries = receiver.wait_for(3, "customer.created")
    assert len({event["id"] for event in deliveries}) == 1 and len(deliveries) == 3


def test_the_drop_and_duplicate_event_faults_apply_to_webhooks(api: Api, receiver: Receiver) -> None:
    api.admin("faults", {"drop_event_rate": 1.0})
    api.post("/v1/customers", {"name": "Dropped"})
    api.admin("faults", {"duplicate_event_rate": 1.0})
    api.post("/v1/customers", {"name": "Twice"})
    twice = receiver.wait_for(2, "customer.created")
    time.sleep(0.1)
    assert [event["data"]["object"]["name"] for event in receiver.events("customer.created")] == ["Twice", "Twice"]
    assert twice[0]["id"] == twice[1]["id"]
