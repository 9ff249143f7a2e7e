"""Structured logs (adapters/logging.py), and proof on CAPTURED logs that no secret or token is ever logged.

Two captures: the raw records as the code emitted them (before any redaction: proves the code itself
never logs a token) and the JSON lines after the redaction filter (proves the last line of defence).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws.secrets import CredentialStore
from adapters.aws.token_store import SsmTokenProvider, SsmTokenWriter, encode_token
from adapters.logging import REDACTED, JsonFormatter, RedactingFilter, correlation, redact, register_secret
from application.access import MintedToken, StoredToken, refresh_tokens
from application.errors import CredentialsRevoked

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIiwicm9vbSI6InRlYW0ifQ.c2lnbmF0dXJlLWJ5dGVz"


class RawCapture(logging.Handler):
    """Keeps what each record held when it was emitted, before a redacting filter could touch it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage() + " " + repr(vars(record)))


@dataclass
class Captured:
    raw: RawCapture
    stream: io.StringIO

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]

    def assert_never_logged(self, *secrets: str) -> None:
        assert self.raw.texts, "nothing was logged: the path under test did not run"
        for secret in secrets:
            assert not any(secret in text for text in self.raw.texts), f"code logged {secret[:4]}..."
            assert secret not in self.stream.getvalue()


@pytest.fixture
def captured() -> Iterator[Captured]:
    root = logging.getLogger()
    raw, stream = RawCapture(), io.StringIO()
    json_handler = logging.StreamHandler(stream)
    json_handler.setFormatter(JsonFormatter())
    json_handler.addFilter(RedactingFilter())
    old_level = root.level
    root.handlers.insert(0, raw)  # first: it sees records before the redacting handler mutates them
    root.addHandler(json_handler)
    root.setLevel(logging.DEBUG)
    try:
        yield Captured(raw, stream)
    finally:
        root.removeHandler(raw)
        root.removeHandler(json_handler)
        root.setLevel(old_level)


def test_a_line_is_one_json_object_with_level_logger_correlation_id_and_extras(captured: Captured) -> None:
    with correlation("corr-123"):
        logging.getLogger("concord.test").warning("order %s synced", "801x", extra={"order": "801x", "n": 2})
    (line,) = captured.lines
    assert line["level"] == "WARNING" and line["logger"] == "concord.test"
    assert line["message"] == "order 801x synced" and line["correlation_id"] == "corr-123"
    assert line["order"] == "801x" and line["n"] == 2
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_the_correlation_id_is_only_set_inside_its_flow(captured: Captured) -> None:
    with correlation("inside"):
        logging.getLogger("concord.test").info("a")
    logging.getLogger("concord.test").info("b")
    assert [line["correlation_id"] for line in captured.lines] == ["inside", ""]


@pytest.mark.parametrize("leak", [
    "Authorization: Bearer 00Dxx0000001gPL!AR8AQJXg5oj8jXSgxJfA0lBog.dOF",
    f"token is {JWT}",
    "key sk_live_51Hb3xKabcdefghijklmnop in use",
    "restricted rk_test_51Hb3xKabcdefghijklmnop",
    'body {"access_token":"opaque-access-0001","token_type":"bearer"}',
    "client_secret=s3cr3t-value-42&grant_type=client_credentials",
    "password: hunter2hunter2",
    "Basic Y2xpZW50OnNlY3JldA==",
])
def test_the_filter_scrubs_secret_shaped_text_from_messages(captured: Captured, leak: str) -> None:
    logging.getLogger("concord.test").error("vendor said %s", leak)
    message = captured.lines[0]["message"]
    assert REDACTED in message
    for secret in ("00Dxx0000001gPL!AR8", JWT, "sk_live_51", "rk_test_51", "opaque-access-0001",
                   "s3cr3t-value", "hunter2hunter2", "Y2xpZW50OnNlY3JldA=="):
        assert secret not in message


def test_the_filter_scrubs_values_under_secret_keys_but_keeps_counts_and_ages(captured: Captured) -> None:
    logging.getLogger("concord.test").info("state", extra={
        "headers": {"Authorization": "Bearer abcdefgh12345678", "X-Api-Key": "k-123456789", "Accept": "json"},
        "client_secret": "cs-987654321", "token_age_s": 42, "token_valid": True, "system": "zuora"})
    line = captured.lines[0]
    assert line["headers"] == {"Authorization": REDACTED, "X-Api-Key": REDACTED, "Accept": "json"}
    assert line["client_secret"] == REDACTED
    assert line["token_age_s"] == 42 and line["token_valid"] is True and line["system"] == "zuora"


def test_exception_text_is_scrubbed(captured: Captured) -> None:
    try:
        raise RuntimeError("refused Bearer abcdefgh12345678")
    except RuntimeError:
        logging.getLogger("concord.test").exception("call failed")
    exception = captured.lines[0]["exception"]
    assert "abcdefgh12345678" not in exception and "Bearer [REDACTED]" in exception


def test_a_registered_secret_is_scrubbed_whatever_its_shape(captured: Captured) -> None:
    register_secret("plain-looking-value-77")
    logging.getLogger("concord.test").info("got plain-looking-value-77 back",
                                           extra={"note": "plain-looking-value-77"})
    assert "plain-looking-value-77" not in captured.stream.getvalue()


_TOKEN_CHARS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-",
                       min_size=8, max_size=60)


@settings(max_examples=60)
@given(token=_TOKEN_CHARS, prefix=st.sampled_from(["Bearer ", "access_token=", '"access_token": "',
                                                    "client_secret: ", "api_key="]))
def test_property_a_credential_after_a_known_prefix_never_survives(token: str, prefix: str) -> None:
    assert token not in redact(f"request failed: {prefix}{token} end")


@settings(max_examples=60)
@given(token=_TOKEN_CHARS, key=st.sampled_from(["access_token", "refresh_token", "Authorization", "password",
                                                "client_secret", "apiKey", "x-api-key", "secret"]))
def test_property_a_value_under_a_secret_key_never_survives_at_any_depth(token: str, key: str) -> None:
    assert token not in json.dumps(redact({"outer": [{key: token}], key: token}))


# -- the token store, access manager and credential store paths, on captured logs ------------------
def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


@dataclass
class FakeSsm:
    values: dict[str, str] = field(default_factory=dict)

    def get_parameter(self, Name: str, WithDecryption: bool) -> dict[str, Any]:
        if Name not in self.values:
            raise client_error("ParameterNotFound", "GetParameter")
        return {"Parameter": {"Name": Name, "Value": self.values[Name], "Type": "SecureString"}}

    def put_parameter(self, Name: str, Value: str, **_: Any) -> dict[str, Any]:
        self.values[Name] = Value
        return {"Version": 1}


class FreeLease:
    def acquire(self, name: str) -> bool:
        return True

    def release(self, name: str) -> None:
        pass


def test_the_token_store_never_logs_a_token_on_read_refresh_and_corrupt_paths(captured: Captured) -> None:
    ssm = FakeSsm()
    old = StoredToken("zuora-old-token-0001", T0, T0 + timedelta(hours=1))
    ssm.values["/concord/dev/tokens/zuora"] = encode_token(old)
    ssm.values["/concord/dev/tokens/salesforce"] = '{"access_token": "sf-corrupt-token-0002"'  # broken JSON
    writer = SsmTokenWriter(ssm, "dev", "alias/concord")

    def refresh(system: str) -> None:
        writer.write(system, StoredToken(f"{system}-new-token-0003", T0, T0 + timedelta(hours=2)))

    provider = SsmTokenProvider(ssm, "dev", lease=FreeLease(), request_refresh=refresh, now=lambda: T0,
                                poll_s=0.0, sleep=lambda _: None)
    assert provider.token("zuora") == "zuora-old-token-0001"
    assert provider.invalidate("zuora", "zuora-old-token-0001") == "zuora-new-token-0003"
    assert provider.token("salesforce") == "salesforce-new-token-0003"
    captured.assert_never_logged("zuora-old-token-0001", "zuora-new-token-0003", "sf-corrupt-token-0002",
                                 "salesforce-new-token-0003")


def test_the_access_manager_never_logs_a_token_or_a_credential(captured: Captured) -> None:
    class Minter:
        def mint(self) -> MintedToken:
            return MintedToken("am-fresh-token-0004", 3600, {"instance_url": "https://acme.my.salesforce.com"})

    class Revoked:
        def mint(self) -> MintedToken:
            raise CredentialsRevoked("refused client_secret=am-client-secret-0005", system="zuora",
                                     code="invalid_client")

    writer = SsmTokenWriter(FakeSsm(), "dev", "alias/concord")
    clock = type("Clock", (), {"now": staticmethod(lambda: T0)})()
    minters = {"salesforce": Minter(), "zuora": Revoked()}
    report = refresh_tokens(["salesforce", "zuora"], minters, writer, clock, 900)
    assert report.refreshed == ["salesforce"] and report.alarms == ["zuora"]
    captured.assert_never_logged("am-fresh-token-0004", "am-client-secret-0005")


def test_the_credential_store_never_logs_a_credential(captured: Captured) -> None:
    class FakeSecrets:
        def __init__(self) -> None:
            self.versions: list[str] = []

        def put_secret_value(self, SecretId: str, SecretString: str) -> dict[str, str]:
            if not self.versions:
                raise client_error("ResourceNotFoundException", "PutSecretValue")
            self.versions.append(SecretString)
            return {"VersionId": f"v{len(self.versions)}"}

        def create_secret(self, Name: str, SecretString: str, **_: Any) -> dict[str, str]:
            self.versions.append(SecretString)
            return {"VersionId": "v1"}

        def list_secret_version_ids(self, SecretId: str) -> dict[str, Any]:
            return {"Versions": []}

    store = CredentialStore(FakeSecrets(), "dev", "alias/concord")
    store.set("zuora", {"client_id": "cid-0006", "client_secret": "cred-secret-0007"})
    store.rotate("zuora", {"client_id": "cid-0006", "client_secret": "cred-secret-0008"})
    captured.assert_never_logged("cred-secret-0007", "cred-secret-0008")
