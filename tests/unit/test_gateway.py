"""The event gateway's rules (DESIGN §2.2-§2.3, §4) with fakes for its ports, and its HTTP edge."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.billing.stripe.webhook import sign
from application.errors import PermanentError, RetryableError
from application.gateway import EventGateway, IdempotencyInProgress, Source, StoredResponse, hash_key
from application.gateway.admin import add_source, finish_rotation, rotate_key
from application.gateway.billing_events import (
    STRIPE_EVENTS,
    ZUORA_EVENTS,
    parse_zuora_callout,
    stripe_event_to_envelope,
    zuora_callout_to_envelope,
)
from domain.errors import ValidationError
from entrypoints.http_gateway import route
from entrypoints.lambdas._wiring_gateway import StripeVerifier, ZuoraCredentials

KEY = "cgk_carrier-key"
NOW = 1_800_000_000
STRIPE_SECRET = "whsec_current"


class FakeSources:
    def __init__(self, *sources: tuple[str, Source]) -> None:
        self.by_hash = {hash_key(key): source for key, source in sources}

    def find_by_key_hash(self, key_hash: str) -> Source | None:
        return self.by_hash.get(key_hash)


class FakeIdempotency:
    def __init__(self) -> None:
        self.items: dict[str, StoredResponse | None] = {}  # None: in progress
        self.fail_complete = False

    def begin(self, key: str) -> StoredResponse | None:
        if key in self.items:
            stored = self.items[key]
            if stored is None:
                raise IdempotencyInProgress(key)
            return stored
        self.items[key] = None
        return None

    def complete(self, key: str, response: StoredResponse) -> None:
        if self.fail_complete:
            raise RetryableError("table down")
        self.items[key] = response

    def release(self, key: str) -> None:
        if self.items.get(key, "absent") is None:
            del self.items[key]


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[Mapping[str, Any]] = []
        self.failures: list[BaseException] = []

    def publish(self, envelopes: Sequence[Mapping[str, Any]]) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.published.extend(envelopes)


class Secrets:
    def __init__(self, *values: str) -> None:
        self.values = list(values)

    def __call__(self) -> list[str]:
        return self.values


CARRIER = Source(id="src-1", name="carrier", source="com.example.carrier",
                 event_names=frozenset({"ShipmentConfirmed", "ShipmentDelayed"}), key_hashes=(hash_key(KEY),))


@pytest.fixture
def publisher() -> FakePublisher:
    return FakePublisher()


@pytest.fixture
def idempotency() -> FakeIdempotency:
    return FakeIdempotency()


@pytest.fixture
def stripe_secrets() -> Secrets:
    return Secrets(STRIPE_SECRET)


@pytest.fixture
def gateway(publisher: FakePublisher, idempotency: FakeIdempotency, stripe_secrets: Secrets) -> EventGateway:
    other = Source(id="src-2", name="payments", source="com.example.payments",
                   event_names=frozenset({"ShipmentConfirmed"}), key_hashes=(hash_key("cgk_other"),))
    return EventGateway(sources=FakeSources((KEY, CARRIER), ("cgk_other", other)), idempotency=idempotency,
                        publisher=publisher, stripe=StripeVerifier(stripe_secrets, now=lambda: NOW),
                        zuora=ZuoraCredentials(lambda: [{"username": "zuora", "password": "s3cret"}]))


def envelope(event_id: str = "evt-1", **metadata: Any) -> dict[str, Any]:
    meta = {"source": "com.example.carrier", "eventName": "ShipmentConfirmed", "eventSchemaVersion": "1",
            "eventId": event_id, "correlationId": "corr-1", "occurredAt": "2026-11-22T10:00:00Z", **metadata}
    return {"metadata": {k: v for k, v in meta.items() if v is not ...}, "data": {"shipmentId": "S1"}}


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


# -- POST /events ----------------------------------------------------------------------------------
def test_an_accepted_event_is_on_the_bus_before_the_202(gateway: EventGateway,
                                                        publisher: FakePublisher) -> None:
    status, answer = gateway.publish_event(KEY, body(envelope()))
    assert (status, answer) == (202, {"status": "accepted", "eventId": "evt-1"})
    assert publisher.published == [envelope()]


@pytest.mark.parametrize("key", [None, "", "cgk_unknown"])
def test_a_missing_or_unknown_key_is_401_and_publishes_nothing(gateway: EventGateway,
                                                               publisher: FakePublisher,
                                                               key: str | None) -> None:
    status, answer = gateway.publish_event(key, body(envelope()))
    assert status == 401 and answer["error"] == "unauthorized"
    assert publisher.published == []


def test_a_spoofed_source_is_403(gateway: EventGateway, publisher: FakePublisher) -> None:
    status, answer = gateway.publish_event(KEY, body(envelope(source="concord.billing")))
    assert (status, answer["field"]) == (403, "metadata.source")
    assert publisher.published == []


def test_another_sources_key_cannot_publish_as_this_source(gateway: EventGateway) -> None:
    status, answer = gateway.publish_event("cgk_other", body(envelope()))
    assert (status, answer["field"]) == (403, "metadata.source")


def test_an_event_name_the_key_may_not_publish_is_403(gateway: EventGateway,
                                                      publisher: FakePublisher) -> None:
    status, answer = gateway.publish_event(KEY, body(envelope(eventName="InvoicePaid")))
    assert (status, answer["field"]) == (403, "metadata.eventName")
    assert publisher.published == []


def _oversized() -> bytes:
    doc = envelope()
    doc["data"] = {"blob": "x" * (256 * 1024)}
    return body(doc)


@pytest.mark.parametrize(("raw", "field"), [
    (b"{not json", "body"),
    (body(envelope(eventId=...)), "metadata.eventId"),
    (body(envelope(eventSchemaVersion="2")), "metadata.eventSchemaVersion"),
    (_oversized(), "body"),
    (body(envelope(eventId=12345)), "metadata.eventId"),
    (body({"metadata": envelope()["metadata"], "data": "text"}), "data"),
])
def test_a_malformed_envelope_is_400_naming_the_field(gateway: EventGateway, publisher: FakePublisher,
                                                      raw: bytes, field: str) -> None:
    status, answer = gateway.publish_event(KEY, raw)
    assert status == 400
    assert answer["error"] == "validation" and answer["field"] == field and answer["message"]
    assert publisher.published == []


def test_the_same_event_id_twice_publishes_once_and_answers_the_same(gateway: EventGateway,
                                                                    publisher: FakePublisher) -> None:
    first = gateway.publish_event(KEY, body(envelope()))
    second = gateway.publish_event(KEY, body(envelope()))
    assert first == second == (202, {"status": "accepted", "eventId": "evt-1"})
    assert len(publisher.published) == 1


def test_event_ids_are_deduplicated_per_source(gateway: EventGateway, publisher: FakePublisher) -> None:
    gateway.publish_event(KEY, body(envelope()))
    status, _ = gateway.publish_event("cgk_other", body(envelope(source="com.example.payments")))
    assert status == 202 and len(publisher.published) == 2


def test_a_failed_publish_is_503_and_a_retry_publishes(gateway: EventGateway, publisher: FakePublisher,
                                                       idempotency: FakeIdempotency) -> None:
    publisher.failures.append(RetryableError("PutEvents throttled"))
    status, answer = gateway.publish_event(KEY, body(envelope()))
    assert (status, answer["error"]) == (503, "unavailable")
    assert idempotency.items == {}  # not marked done, not left in progress
    assert gateway.publish_event(KEY, body(envelope()))[0] == 202
    assert len(publisher.published) == 1


def test_a_permanent_bus_refusal_is_500_and_leaves_the_event_retryable(gateway: EventGateway,
                                                                       publisher: FakePublisher) -> None:
    publisher.failures.append(PermanentError("AccessDenied"))
    assert gateway.publish_event(KEY, body(envelope()))[0] == 500
    assert gateway.publish_event(KEY, body(envelope()))[0] == 202


def test_an_unexpected_publish_crash_releases_the_claim_and_reaches_the_edge_as_500(
        gateway: EventGateway, publisher: FakePublisher, idempotency: FakeIdempotency) -> None:
    publisher.failures.append(RuntimeError("bug"))
    response = route(http_event("POST", "/events", body(envelope()), {"x-api-key": KEY}), gateway)
    assert response["statusCode"] == 500
    assert idempotency.items == {}


def test_an_event_being_published_by_another_request_is_409(gateway: EventGateway,
                                                            idempotency: FakeIdempotency) -> None:
    idempotency.items["events:src-1:evt-1"] = None
    status, answer = gateway.publish_event(KEY, body(envelope()))
    assert (status, answer["error"]) == (409, "in_progress")


def test_an_unavailable_idempotency_table_is_503_without_publishing(gateway: EventGateway,
                                                                   publisher: FakePublisher,
                                                                   idempotency: FakeIdempotency,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def down(key: str) -> None:
        raise RetryableError("dynamodb throttled")

    monkeypatch.setattr(idempotency, "begin", down)
    assert gateway.publish_event(KEY, body(envelope()))[0] == 503
    assert publisher.published == []


def test_when_only_recording_the_answer_fails_the_event_is_still_accepted(
        gateway: EventGateway, idempotency: FakeIdempotency) -> None:
    idempotency.fail_complete = True
    assert gateway.publish_event(KEY, body(envelope()))[0] == 202


# -- POST /webhooks/stripe -------------------------------------------------------------------------
def stripe_event(event_id: str = "evt_1", kind: str = "customer.subscription.updated") -> bytes:
    obj = {"id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "active"}
    return json.dumps({"id": event_id, "object": "event", "type": kind, "created": NOW - 5,
                       "data": {"object": obj}, "livemode": False}).encode()


def test_a_signed_stripe_event_is_published_as_a_billing_trigger(gateway: EventGateway,
                                                                 publisher: FakePublisher) -> None:
    raw = stripe_event()
    status, answer = gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW))
    assert status == 200 and answer["status"] == "accepted"
    (detail,) = publisher.published
    assert detail["metadata"]["source"] == "concord.billing"
    assert detail["metadata"]["eventName"] == "SubscriptionChanged"
    assert detail["data"] == {"vendor": "stripe", "objectType": "subscription", "objectId": "sub_1",
                              "accountId": "cus_1", "vendorEventId": "evt_1"}


def test_a_redelivered_stripe_event_is_200_without_publishing_again(gateway: EventGateway,
                                                                    publisher: FakePublisher) -> None:
    raw = stripe_event()
    first = gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW))
    later = gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW + 60))  # Stripe re-signs
    assert first == later and first[0] == 200
    assert len(publisher.published) == 1


@pytest.mark.parametrize("header", [None, "", "t=1800000000", "v1=abc", f"t={NOW},v1={'0' * 64}",
                                    "garbage"])
def test_a_missing_or_wrong_stripe_signature_is_400(gateway: EventGateway, publisher: FakePublisher,
                                                    header: str | None) -> None:
    status, answer = gateway.handle_stripe_webhook(stripe_event(), header)
    assert (status, answer["error"]) == (400, "signature")
    assert publisher.published == []


def test_a_signature_over_other_bytes_is_400(gateway: EventGateway) -> None:
    raw = stripe_event()
    reformatted = json.dumps(json.loads(raw), indent=2).encode()  # same JSON, other bytes
    assert gateway.handle_stripe_webhook(reformatted, sign(raw, STRIPE_SECRET, NOW))[0] == 400


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_a_stale_stripe_signature_is_400(gateway: EventGateway, age: int) -> None:
    raw = stripe_event()
    status, answer = gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW - age))
    assert status == 400 and "tolerance" in answer["message"]


def test_a_signature_just_inside_the_tolerance_is_accepted(gateway: EventGateway) -> None:
    raw = stripe_event()
    assert gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW - 300))[0] == 200


def test_during_a_secret_rotation_either_secret_verifies(gateway: EventGateway,
                                                         stripe_secrets: Secrets) -> None:
    stripe_secrets.values = ["whsec_new", STRIPE_SECRET]  # concord holds both while Stripe rolls
    old_only = stripe_event("evt_old")
    new_only = stripe_event("evt_new")
    assert gateway.handle_stripe_webhook(old_only, sign(old_only, STRIPE_SECRET, NOW))[0] == 200
    assert gateway.handle_stripe_webhook(new_only, sign(new_only, "whsec_new", NOW))[0] == 200


def test_a_header_with_one_v1_per_secret_verifies_with_only_the_new_secret(gateway: EventGateway,
                                                                          stripe_secrets: Secrets) -> None:
    stripe_secrets.values = ["whsec_new"]
    raw = stripe_event()
    assert gateway.handle_stripe_webhook(raw, sign(raw, ["whsec_old", "whsec_new"], NOW))[0] == 200
    stripe_secrets.values = ["whsec_retired"]
    assert gateway.handle_stripe_webhook(raw, sign(raw, ["whsec_old", "whsec_new"], NOW))[0] == 400


def test_a_stripe_event_type_concord_does_not_follow_is_acknowledged_not_published(
        gateway: EventGateway, publisher: FakePublisher) -> None:
    raw = stripe_event(kind="charge.refunded")
    assert gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW)) == (
        200, {"status": "ignored", "type": "charge.refunded"})
    assert publisher.published == []


def test_a_signed_stripe_event_without_its_customer_is_400_naming_it(gateway: EventGateway) -> None:
    raw = json.dumps({"id": "evt_2", "object": "event", "type": "invoice.paid", "created": NOW,
                      "data": {"object": {"id": "in_1"}}}).encode()
    status, answer = gateway.handle_stripe_webhook(raw, sign(raw, STRIPE_SECRET, NOW))
    assert (status, answer["field"]) == (400, "data.object.customer")


# -- POST /webhooks/zuora --------------------------------------------------------------------------
def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def callout(**fields: Any) -> bytes:
    doc = {"eventType": "SubscriptionCancelled", "objectType": "subscription", "objectId": "8a8082c4",
           "accountId": "2c92c0f8", "accountNumber": "A00000042", "eventTime": "2026-11-22T10:00:00-08:00",
           **fields}
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def test_an_authenticated_zuora_callout_is_published_with_200(gateway: EventGateway,
                                                              publisher: FakePublisher) -> None:
    status, answer = gateway.handle_zuora_callout(callout(), basic("zuora", "s3cret"))
    assert status == 200 and answer["status"] == "accepted"
    (detail,) = publisher.published
    assert detail["metadata"]["eventName"] == "SubscriptionChanged"
    assert detail["data"]["vendor"] == "zuora" and detail["data"]["objectId"] == "8a8082c4"
    assert detail["metadata"]["occurredAt"] == "2026-11-22T10:00:00-08:00"


@pytest.mark.parametrize("authorization", [None, "", basic("zuora", "wrong"), basic("other", "s3cret"),
                                           "Bearer s3cret", "Basic !!notbase64", "Basic " +
                                           base64.b64encode(b"no-colon").decode()])
def test_a_zuora_callout_without_the_right_basic_auth_is_401(gateway: EventGateway, publisher: FakePublisher,
                                                             authorization: str | None) -> None:
    assert gateway.handle_zuora_callout(callout(), authorization)[0] == 401
    assert publisher.published == []


def test_zuora_retries_with_new_request_ids_are_deduplicated_on_object_event_and_time(
        gateway: EventGateway, publisher: FakePublisher) -> None:
    auth = basic("zuora", "s3cret")
    first = route(http_event("POST", "/webhooks/zuora", callout(),
                             {"Authorization": auth, "Zuora-Request-Id": "r-1"}), gateway)
    retry = route(http_event("POST", "/webhooks/zuora", callout(),
                             {"Authorization": auth, "Zuora-Request-Id": "r-2"}), gateway)
    assert first["statusCode"] == retry["statusCode"] == 200 and first["body"] == retry["body"]
    gateway.handle_zuora_callout(callout(eventTime="2026-11-23T10:00:00-08:00"), auth)
    assert len(publisher.published) == 2


@pytest.mark.parametrize(("doc", "field"), [
    (callout(objectId=...), "objectId"), (callout(eventType="InvoicePosted"), "eventType"),
    (callout(objectType="account"), "objectType"), (callout(eventTime="next tuesday"), "eventTime"),
    (b"[]", "body"), (b"{", "body"), (callout(accountId=""), "accountId"),
])
def test_a_malformed_zuora_callout_is_400_naming_the_field(gateway: EventGateway, doc: bytes,
                                                           field: str) -> None:
    status, answer = gateway.handle_zuora_callout(doc, basic("zuora", "s3cret"))
    assert (status, answer["field"]) == (400, field)


def test_zuora_credentials_rotate_with_two_pairs_accepted(publisher: FakePublisher,
                                                          idempotency: FakeIdempotency) -> None:
    pairs = [{"username": "zuora", "password": "old"}, {"username": "zuora", "password": "new"}]
    gateway = EventGateway(FakeSources(), idempotency, publisher, StripeVerifier(Secrets()),
                           ZuoraCredentials(lambda: pairs))
    assert gateway.handle_zuora_callout(callout(), basic("zuora", "old"))[0] == 200
    assert gateway.handle_zuora_callout(callout(objectId="x2"), basic("zuora", "new"))[0] == 200


# -- normalisation properties ----------------------------------------------------------------------
_ids = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=60)


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(STRIPE_EVENTS)), event_id=_ids, object_id=_ids, customer=_ids,
       created=st.integers(0, 4_000_000_000))
def test_stripe_events_map_deterministically_to_the_bus_contract(kind: str, event_id: str, object_id: str,
                                                                 customer: str, created: int) -> None:
    event = {"id": event_id, "type": kind, "created": created,
             "data": {"object": {"id": object_id, "customer": customer}}}
    first, again = stripe_event_to_envelope(event), stripe_event_to_envelope(json.loads(json.dumps(event)))
    assert first is not None and first == again
    assert first.metadata.source == "concord.billing"
    assert first.metadata.eventName == STRIPE_EVENTS[kind][0]
    data = first.data
    assert data["objectType"] == STRIPE_EVENTS[kind][1] and data["objectId"] == object_id
    assert data["accountId"] == (object_id if data["objectType"] == "account" else customer)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                  max_size=4), max_leaves=10)


@settings(max_examples=80, deadline=None)
@given(event=st.dictionaries(st.sampled_from(["id", "type", "created", "data", "x"]), _json) | _json)
def test_any_stripe_payload_maps_or_raises_a_named_validation_error(event: Any) -> None:
    try:
        stripe_event_to_envelope(event)
    except ValidationError as exc:
        assert exc.field


@settings(max_examples=80, deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={
    "eventType": st.sampled_from(sorted(ZUORA_EVENTS)) | _json, "objectType": st.sampled_from(
        ["subscription", "account", "payment"]) | _json, "objectId": _ids | _json, "accountId": _ids,
    "accountNumber": _ids,
    "eventTime": st.sampled_from(["2026-11-22T10:00:00Z", "2026-11-22 10:00:00"]) | _json}))
def test_any_zuora_body_maps_or_raises_a_named_validation_error(doc: dict[str, Any]) -> None:
    try:
        envelope = zuora_callout_to_envelope(parse_zuora_callout(doc))
    except ValidationError as exc:
        assert exc.field in {"eventType", "objectType", "objectId", "accountId", "accountNumber", "eventTime"}
    else:
        assert envelope.data["vendor"] == "zuora"
        assert envelope == zuora_callout_to_envelope(parse_zuora_callout(doc))


# -- source admin ----------------------------------------------------------------------------------
class FakeAdmin:
    def __init__(self) -> None:
        self.rows: dict[str, Source] = {}

    def add(self, source: Source) -> None:
        self.rows[source.id] = source

    def get(self, source_id: str) -> Source:
        return self.rows[source_id]

    def list(self) -> list[Source]:
        return list(self.rows.values())

    def replace_keys(self, source_id: str, expected: tuple[str, ...], keys: tuple[str, ...]) -> None:
        assert self.rows[source_id].key_hashes == expected
        self.rows[source_id] = Source(**{**self.rows[source_id].__dict__, "key_hashes": keys})


def test_a_new_source_stores_only_its_keys_hash_and_rotation_keeps_two_then_one() -> None:
    admin = FakeAdmin()
    source, key = add_source(admin, name="carrier", source="com.example.carrier", event_names=["A", " B "])
    assert source.key_hashes == (hash_key(key),) and key not in repr(admin.rows)
    assert source.event_names == {"A", "B"}
    new = rotate_key(admin, source.id)
    assert admin.get(source.id).key_hashes == (hash_key(key), hash_key(new))
    assert finish_rotation(admin, source.id).key_hashes == (hash_key(new),)
    with pytest.raises(PermanentError):
        finish_rotation(admin, source.id)


@pytest.mark.parametrize(("source", "names", "field"), [
    ("concord.billing", ["A"], "source"), ("aws.partner", ["A"], "source"), ("Carrier", ["A"], "source"),
    ("com.example.carrier", [], "event_names"), ("com.example.carrier", ["bad name"], "event_names")])
def test_a_source_may_not_be_registered_as_concord_or_aws_or_without_names(source: str, names: list[str],
                                                                          field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        add_source(FakeAdmin(), name="x", source=source, event_names=names)
    assert caught.value.field == field


# -- the HTTP edge (API Gateway HTTP API payload v2) -----------------------------------------------
def http_event(method: str, path: str, raw: bytes = b"", headers: dict[str, str] | None = None, *,
               b64: bool = False, stage: str = "$default") -> dict[str, Any]:
    prefix = "" if stage == "$default" else f"/{stage}"
    return {"version": "2.0", "routeKey": "$default", "rawPath": prefix + path,
            "headers": {k.lower(): v for k, v in (headers or {}).items()},
            "requestContext": {"stage": stage, "http": {"method": method, "path": prefix + path}},
            "body": base64.b64encode(raw).decode() if b64 else raw.decode("utf-8", "replace"),
            "isBase64Encoded": b64}


def test_the_edge_passes_the_raw_base64_body_to_the_stripe_signature_check(gateway: EventGateway) -> None:
    raw = stripe_event()
    response = route(http_event("POST", "/webhooks/stripe", raw, {"Stripe-Signature": sign(raw, STRIPE_SECRET,
                                                                                           NOW)}, b64=True),
                     gateway)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "accepted"


def test_the_edge_maps_a_use_case_answer_to_an_api_gateway_response(gateway: EventGateway) -> None:
    response = route(http_event("POST", "/events", body(envelope(eventId=...)), {"X-Api-Key": KEY},
                                stage="prod"), gateway)
    assert response["statusCode"] == 400
    assert response["headers"]["content-type"] == "application/json"
    assert json.loads(response["body"])["field"] == "metadata.eventId"


def test_the_edge_challenges_a_zuora_callout_without_auth(gateway: EventGateway) -> None:
    response = route(http_event("POST", "/webhooks/zuora", callout()), gateway)
    assert response["statusCode"] == 401 and response["headers"]["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/nope", 404), ("GET", "/events", 405), ("POST", "/health", 405),
    ("DELETE", "/webhooks/zuora", 405)])
def test_unknown_routes_and_methods_are_refused(gateway: EventGateway, method: str, path: str,
                                                status: int) -> None:
    assert route(http_event(method, path), gateway)["statusCode"] == status


def test_bad_base64_is_400(gateway: EventGateway) -> None:
    event = http_event("POST", "/events", b"", {"x-api-key": KEY})
    event.update(body="***", isBase64Encoded=True)
    assert route(event, gateway)["statusCode"] == 400


def test_health_and_the_openapi_document_are_served(gateway: EventGateway) -> None:
    assert json.loads(route(http_event("GET", "/health"), gateway)["body"]) == {"status": "ok"}
    document = json.loads(route(http_event("GET", "/openapi.json/"), gateway)["body"])
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/events", "/webhooks/stripe", "/webhooks/zuora", "/health",
                                      "/openapi.json"}
    assert document["paths"]["/events"]["post"]["security"] == [{"apiKey": []}]
    assert set(document["paths"]["/events"]["post"]["responses"]) >= {"202", "400", "401", "403", "503"}
    refs = {ref for ref in _refs(document)}
    assert refs <= {f"#/components/schemas/{name}" for name in document["components"]["schemas"]}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []
