"""ZuoraClient and ZuoraAuth against scripted answers (httpx.MockTransport): error classes, retries,
idempotency keys, rate-limit headers, exact decimals."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

from adapters.billing.zuora import ZuoraAuth, ZuoraClient
from adapters.outbound import RetryPolicy
from application.errors import CredentialsRevoked, NotFound, OutcomeUnknown, PermanentError, RetryableError

Reply = Callable[[httpx.Request], httpx.Response]


class Tokens:
    def __init__(self) -> None:
        self.current, self.invalidated = "t1", []

    def token(self, system: str) -> str:
        return self.current

    def invalidate(self, system: str, rejected: str) -> str:
        self.invalidated.append(rejected)
        self.current = "t2"
        return self.current


def scripted(*replies: Reply | httpx.Response) -> tuple[ZuoraClient, list[httpx.Request], list[float]]:
    """A client whose n-th request gets the n-th reply (the last one repeats)."""
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        reply = replies[min(len(seen), len(replies)) - 1]
        return reply(request) if callable(reply) else reply

    client = ZuoraClient("https://rest.test.zuora.com", tokens=Tokens(), client=httpx.Client(
        transport=httpx.MockTransport(handler)), retry=RetryPolicy(max_attempts=3, base_delay_s=0.0),
        sleep=sleeps.append)
    return client, seen, sleeps


def failed(code: int | str, message: str = "boom", status: int = 200) -> httpx.Response:
    reasons = [{"code": code, "message": message}]
    return httpx.Response(status, json={"success": False, "processId": "P", "reasons": reasons})


OK = httpx.Response(200, json={"success": True, "id": "x"})


def test_http_200_with_success_false_is_a_permanent_error_naming_the_field():
    client, seen, _ = scripted(failed(53100320, "'termType' value should be one of: TERMED, EVERGREEN"))
    with pytest.raises(PermanentError) as error:
        client.request("POST", "/v1/orders", json={}, idempotency_key="k")
    assert error.value.code == "53100320" and error.value.field == "termType" and len(seen) == 1


@pytest.mark.parametrize(("code", "expected", "field"), [
    (50000010, PermanentError, None), (53100222, PermanentError, "name"), (53100221, PermanentError, None),
    (53100230, PermanentError, None), (50000040, NotFound, None)])
def test_categories_that_retrying_cannot_fix_are_raised_at_once(code, expected, field):
    message = "Missing required field: name" if field else "no"
    client, seen, _ = scripted(failed(code, message))
    with pytest.raises(expected) as error:
        client.request("GET", "/v1/accounts/A1")
    assert type(error.value) is expected and len(seen) == 1
    assert error.value.field == field


@pytest.mark.parametrize("code", [50000050, 50000060, 50000061, 50000070, 90000090])
def test_transient_categories_are_retried_with_the_same_key(code):
    client, seen, _ = scripted(failed(code), OK)
    client.request("POST", "/v1/accounts", json={"a": 1}, idempotency_key="same")
    assert [r.headers["Idempotency-Key"] for r in seen] == ["same", "same"]
    assert [r.content for r in seen] == [seen[0].content] * 2


def test_crud_failures_are_read_too():
    crud = httpx.Response(200, json={"Success": False, "Errors": [{"Code": "INVALID_VALUE", "Message": "bad"}]})
    client, _, _ = scripted(crud)
    with pytest.raises(PermanentError) as error:
        client.request("POST", "/v1/object/product", json={}, idempotency_key="k")
    assert error.value.code == "INVALID_VALUE"
    lock = httpx.Response(200, json={"Success": False, "Errors": [{"Code": "LOCK_COMPETITION", "Message": "x"}]})
    client, seen, _ = scripted(lock, OK)
    client.request("POST", "/v1/object/product", json={}, idempotency_key="k")
    assert len(seen) == 2


def test_429_waits_for_ratelimit_reset():
    limited = httpx.Response(429, headers={"RateLimit-Limit": "50000", "RateLimit-Remaining": "0",
                                           "RateLimit-Reset": "7"}, json={"success": False})
    client, seen, sleeps = scripted(limited, OK)
    client.request("GET", "/object-query/accounts")
    assert sleeps == [7.0] and len(seen) == 2
    client, _, _ = scripted(limited)
    with pytest.raises(RetryableError) as error:
        client.request("GET", "/object-query/accounts")
    assert error.value.retry_after == 7.0


def test_409_in_progress_is_retried_with_the_same_key_until_the_stored_answer_comes():
    client, seen, _ = scripted(failed(50000050, "in progress", status=409), OK)
    assert client.request("POST", "/v1/orders", json={}, idempotency_key="k").json()["success"] is True
    assert [r.headers["Idempotency-Key"] for r in seen] == ["k", "k"]


def test_422_key_mismatch_is_a_permanent_error_that_blames_our_keys():
    client, seen, _ = scripted(failed(50000020, "mismatch", status=422))
    with pytest.raises(PermanentError) as error:
        client.request("POST", "/v1/orders", json={}, idempotency_key="k")
    assert "key" in error.value.message and len(seen) == 1


def test_5xx_is_retried():
    client, seen, _ = scripted(httpx.Response(503, text="busy"), OK)
    client.request("GET", "/v1/subscriptions/A-S1")
    assert len(seen) == 2


def test_a_timeout_after_sending_is_outcome_unknown():
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client, seen, _ = scripted(timeout)
    with pytest.raises(OutcomeUnknown):
        client.request("POST", "/v1/orders", json={}, idempotency_key="k")
    assert len(seen) == 3 and {r.headers["Idempotency-Key"] for r in seen} == {"k"}


def test_an_expired_token_is_refreshed_once():
    client, seen, _ = scripted(httpx.Response(401, json={"success": False}), OK)
    client.request("GET", "/object-query/accounts")
    assert [r.headers["Authorization"] for r in seen] == ["Bearer t1", "Bearer t2"]


def test_keys_go_on_post_and_patch_only_and_are_required_there():
    client, seen, _ = scripted(OK)
    with pytest.raises(PermanentError):
        client.request("POST", "/v1/accounts", json={})
    client.request("GET", "/v1/accounts/A1", idempotency_key="ignored")
    client.request("PUT", "/v1/accounts/A1", json={}, idempotency_key="ignored")
    client.request("PATCH", "/v1/x", json={}, idempotency_key="p")
    assert [r.headers.get("Idempotency-Key") for r in seen] == [None, None, "p"]


def test_a_key_zuora_cannot_take_is_hashed_stably():
    client, seen, _ = scripted(OK)
    for _ in range(2):
        client.request("POST", "/v1/accounts", json={}, idempotency_key="k" * 300)
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert keys[0] == keys[1] and len(keys[0]) < 255


def test_prices_are_read_as_exact_decimals():
    client, _, _ = scripted(httpx.Response(200, content=b'{"success": true, "price": 0.1}'))
    assert client.call("GET", "/v1/catalog/product/P")["price"] == Decimal("0.1")


class SpyBucket:
    def __init__(self) -> None:
        self.paused_until: list[float] = []

    def acquire(self) -> None:
        return None

    def pause_until(self, deadline: float) -> None:
        self.paused_until.append(deadline)


def test_a_spent_window_pauses_every_caller():
    bucket = SpyBucket()
    client, _, _ = scripted(httpx.Response(200, json={"success": True}, headers={
        "RateLimit-Limit": "10", "RateLimit-Remaining": "0", "RateLimit-Reset": "30"}))
    client.bucket = bucket  # type: ignore[assignment]
    before = time.monotonic()
    client.request("GET", "/object-query/accounts")
    assert client.rate_limit == (10, 0, 30.0)
    assert len(bucket.paused_until) == 1 and bucket.paused_until[0] >= before + 30


# -- OAuth ----------------------------------------------------------------------------------------
def auth_with(reply: Reply | httpx.Response) -> tuple[ZuoraAuth, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return reply(request) if callable(reply) else reply

    return ZuoraAuth("https://rest.test.zuora.com", "cid", "sec",
                     client=httpx.Client(transport=httpx.MockTransport(handler))), seen


def test_a_token_is_fetched_with_form_encoded_client_credentials_and_no_auth_header():
    auth, seen = auth_with(httpx.Response(200, json={"access_token": "abc", "token_type": "bearer",
                                                     "expires_in": 3599, "scope": "s", "jti": "j"}))
    assert auth.fetch() == ("abc", 3599.0)
    request = seen[0]
    assert request.url.path == "/oauth/token" and "authorization" not in request.headers
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(request.content.decode())) == {
        "client_id": "cid", "client_secret": "sec", "grant_type": "client_credentials"}


@pytest.mark.parametrize(("reply", "expected"), [
    (httpx.Response(401, json={"error": "invalid_client"}), CredentialsRevoked),
    (httpx.Response(400, json={"error": "invalid_client"}), CredentialsRevoked),
    (httpx.Response(400, json={"error": "unsupported_grant_type"}), PermanentError),
    (httpx.Response(429, headers={"Retry-After": "3"}, json={}), RetryableError),
    (httpx.Response(502, text="bad gateway"), RetryableError)])
def test_token_failures_are_classified(reply, expected):
    auth, _ = auth_with(reply)
    with pytest.raises(expected) as error:
        auth.fetch()
    assert type(error.value) is expected


def test_an_unreachable_token_endpoint_is_retryable():
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    auth, _ = auth_with(down)
    with pytest.raises(RetryableError):
        auth.fetch()


def test_tokens_are_cached_until_they_expire():
    auth, seen = auth_with(lambda r: httpx.Response(200, json={"access_token": f"t{len(seen)}", "expires_in": 3599}))
    tokens = auth.tokens()
    assert tokens.token("zuora") == tokens.token("zuora") and len(seen) == 1
    assert json.dumps(tokens.invalidate("zuora", "t1")) and len(seen) == 2
