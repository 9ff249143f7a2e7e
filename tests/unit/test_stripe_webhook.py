"""Properties of Stripe webhook signature verification (adapters/billing/stripe/webhook.py)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.billing.stripe.webhook import WebhookSignatureError, parse_header, sign, verify_signature
from application.errors import PermanentError

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = 1_800_000_000
secrets_ = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40).map(
    lambda s: f"whsec_{s}")
events = st.builds(lambda eid, extra: json.dumps({"id": f"evt_{eid}", "object": "event", "type": "x.y",
                                                  "data": {"object": extra}}, indent=2).encode(),
                   st.text("abcdef0123456789", min_size=4, max_size=24),
                   st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=10)), max_size=4))


def reason(body: bytes, header: str | None, secrets: list[str], now: float = NOW) -> str:
    with pytest.raises(WebhookSignatureError) as caught:
        verify_signature(body, header, secrets, now=now)
    return caught.value.reason


@PROPERTY
@given(events, secrets_, st.integers(-300, 300))
def test_a_signed_event_verifies_within_the_tolerance(body: bytes, secret: str, skew: int) -> None:
    event = verify_signature(body, sign(body, secret, NOW + skew), [secret], now=NOW)
    assert event == json.loads(body)


@PROPERTY
@given(events, secrets_, st.integers(301, 10**6), st.booleans())
def test_a_timestamp_beyond_the_tolerance_is_refused_either_way(body: bytes, secret: str, skew: int,
                                                                  future: bool) -> None:
    header = sign(body, secret, NOW + (skew if future else -skew))
    assert reason(body, header, [secret]) == "timestamp_outside_tolerance"


@PROPERTY
@given(events, secrets_, secrets_)
def test_during_a_rotation_any_v1_of_any_known_secret_is_accepted(body: bytes, old: str, new: str) -> None:
    header = sign(body, [old, new], NOW)
    assert verify_signature(body, header, [new], now=NOW)["object"] == "event"
    assert verify_signature(body, header, [old], now=NOW)["object"] == "event"
    assert verify_signature(body, sign(body, old, NOW), ["whsec_other", old], now=NOW)["object"] == "event"


@PROPERTY
@given(events, secrets_, secrets_)
def test_another_secret_does_not_verify(body: bytes, secret: str, other: str) -> None:
    if other != secret:
        assert reason(body, sign(body, secret, NOW), [other]) == "signature_mismatch"


@PROPERTY
@given(events, secrets_, st.binary(min_size=1, max_size=8))
def test_a_changed_body_does_not_verify(body: bytes, secret: str, extra: bytes) -> None:
    assert reason(body + extra, sign(body, secret, NOW), [secret]) == "signature_mismatch"


def test_the_signature_is_the_hex_hmac_sha256_of_t_dot_raw_body() -> None:
    body = b'{"id": "evt_1", "object": "event"}'
    expected = hmac.new(b"whsec_x", b"1800000000." + body, hashlib.sha256).hexdigest()
    assert sign(body, "whsec_x", NOW) == f"t=1800000000,v1={expected}"


def test_verification_is_on_the_raw_bytes_not_the_parsed_json() -> None:
    body = b'{"id": "evt_1", "object": "event"}'
    header = sign(body, "whsec_x", NOW)
    reserialised = json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert reason(reserialised, header, ["whsec_x"]) == "signature_mismatch"


@pytest.mark.parametrize("header, expected", [
    (None, "missing_header"), ("", "missing_header"), ("garbage", "malformed_header"),
    ("v1=abc", "malformed_header"), ("t=soon,v1=abc", "malformed_header"), ("t=1800000000", "no_v1_signature"),
    ("t=1800000000,v0=abc", "no_v1_signature")])
def test_a_malformed_header_is_refused_with_its_reason(header: str | None, expected: str) -> None:
    assert reason(b"{}", header, ["whsec_x"]) == expected


def test_without_a_configured_secret_nothing_verifies() -> None:
    body = b'{"id": "evt_1", "object": "event"}'
    assert reason(body, sign(body, "whsec_x", NOW), []) == "no_secret"
    assert reason(body, sign(body, "whsec_x", NOW), [""]) == "no_secret"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"object": "customer", "id": "cus_1"}', b"\xff\xfe"])
def test_a_signed_body_that_is_not_an_event_is_refused(body: bytes) -> None:
    assert reason(body, sign(body, "whsec_x", NOW), ["whsec_x"]) == "invalid_payload"


@PROPERTY
@given(st.text(max_size=120), st.binary(max_size=40))
def test_any_header_either_verifies_or_raises_the_signature_error(header: str, body: bytes) -> None:
    try:
        verify_signature(body, header, ["whsec_x"], now=NOW)
    except WebhookSignatureError as exc:
        assert isinstance(exc, PermanentError) and exc.field == "Stripe-Signature" and exc.code == exc.reason


def test_parse_header_collects_every_v1() -> None:
    assert parse_header("t=5, v1=aa ,v0=zz,v1=bb") == (5, ["aa", "bb"])
