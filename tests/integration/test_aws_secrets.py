"""CredentialStore against moto's Secrets Manager: versions, staging labels, the rotation overlap window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from adapters.aws.secrets import CredentialStore
from application.errors import NotFound

KEY = "alias/concord-it"
OLD = {"client_id": "zuora-client", "client_secret": "old-secret-value"}
NEW = {"client_id": "zuora-client", "client_secret": "new-secret-value"}


@pytest.fixture
def client(moto_reset: None, moto_endpoint: str) -> Any:
    return boto3.client("secretsmanager")


def test_set_creates_the_secret_under_concords_name_and_kms_key(client: Any) -> None:
    store = CredentialStore(client, "it", KEY)
    store.set("zuora", OLD)
    described = client.describe_secret(SecretId="concord/it/credentials/zuora")
    assert described["KmsKeyId"] == KEY
    assert store.current("zuora") == OLD and store.previous("zuora") is None


def test_rotate_keeps_the_previous_credentials_readable_during_the_overlap(client: Any) -> None:
    store = CredentialStore(client, "it", KEY)
    store.set("zuora", OLD)
    store.rotate("zuora", NEW)
    assert store.current("zuora") == NEW and store.previous("zuora") == OLD
    stages = {
        tuple(v["VersionStages"])
        for v in client.list_secret_version_ids(SecretId="concord/it/credentials/zuora")["Versions"]
    }
    assert {("AWSCURRENT",), ("AWSPREVIOUS",)} <= stages


def test_the_previous_credentials_are_gone_after_the_window_or_when_the_overlap_ends(client: Any) -> None:
    later = [datetime.now(UTC)]
    store = CredentialStore(client, "it", KEY, overlap_s=3600, now=lambda: later[0])
    store.set("zuora", OLD)
    store.rotate("zuora", NEW)
    later[0] += timedelta(hours=2)
    assert store.previous("zuora") is None
    later[0] -= timedelta(hours=2)
    assert store.previous("zuora") == OLD
    store.end_overlap("zuora")
    assert store.previous("zuora") is None and store.current("zuora") == NEW


def test_set_replaces_without_an_overlap(client: Any) -> None:
    store = CredentialStore(client, "it", KEY)
    store.set("zuora", OLD)
    store.set("zuora", NEW)
    assert store.current("zuora") == NEW and store.previous("zuora") is None


def test_nothing_to_rotate_or_read_is_not_found(client: Any) -> None:
    store = CredentialStore(client, "it", KEY)
    with pytest.raises(NotFound):
        store.rotate("salesforce", NEW)
    with pytest.raises(NotFound):
        store.current("salesforce")
    assert store.previous("salesforce") is None
