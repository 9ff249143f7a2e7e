"""The composition root, end to end on moto (server mode) and the vendor sandboxes.

Configuration alone picks the event store (DynamoDB) and the billing vendor (Zuora or Stripe); the
access manager mints tokens from credentials in Secrets Manager into SSM; the account Lambda then
syncs a Salesforce change event (as Event Relay delivers it) into billing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from entrypoints.lambdas import _runtime
from infrastructure import wiring
from infrastructure.sandboxes.salesforce import SalesforceSandbox
from infrastructure.sandboxes.stripe import StripeSandbox
from infrastructure.sandboxes.zuora import ZuoraSandbox
from tests.support.salesforce import CLIENT_ID, CLIENT_SECRET, SalesforceSeed


@pytest.fixture
def stack(moto_endpoint, moto_reset, monkeypatch) -> Iterator[dict]:
    relayed: list[dict] = []
    salesforce = SalesforceSandbox(CLIENT_ID, CLIENT_SECRET, events_to=relayed.append)
    zuora = ZuoraSandbox("zu-client", "zu-secret")
    stripe = StripeSandbox(["rk_test_concord"])
    urls = {"salesforce": salesforce.start(), "zuora": zuora.start(), "stripe": stripe.start()}
    kms = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("dynamodb").create_table(
        TableName="concord-leases", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    dlq = boto3.client("sqs").create_queue(QueueName="concord-dev-account-dlq")["QueueUrl"]
    boto3.client("events").create_event_bus(Name="concord-bus")
    env = {"CONCORD_STAGE": "dev", "CONCORD_EVENT_STORE": "dynamodb", "CONCORD_EVENTS_TABLE": "concord-events",
           "CONCORD_SALESFORCE_URL": urls["salesforce"], "CONCORD_ZUORA_URL": urls["zuora"],
           "CONCORD_STRIPE_URL": urls["stripe"], "CONCORD_KMS_KEY_ID": kms, "CONCORD_TOKEN_REFRESH_MODE": "inline",
           "CONCORD_DLQ_URL": dlq}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    wiring._clients.clear()
    _runtime.reset_container()
    store = wiring.credential_store(_runtime.container().settings())
    store.set("salesforce", {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    store.set("zuora", {"client_id": "zu-client", "client_secret": "zu-secret"})
    store.set("stripe", {"api_key": "rk_test_concord"})
    yield {"relayed": relayed, "salesforce": salesforce, "zuora": zuora, "stripe": stripe}
    _runtime.reset_container()
    for sandbox in (salesforce, zuora, stripe):
        sandbox.stop()


def _sqs_event(envelope: dict) -> dict:
    arn = "arn:aws:sqs:us-east-1:1:concord-dev-account"
    return {"Records": [{"messageId": "m-1", "body": json.dumps(envelope),
                         "attributes": {"ApproximateReceiveCount": "1"}, "eventSourceARN": arn}]}


@pytest.mark.parametrize("vendor", ["zuora", "stripe"])
def test_the_account_lambda_syncs_a_relayed_salesforce_change_into_the_configured_vendor(stack, monkeypatch,
                                                                                        vendor):
    monkeypatch.setenv("CONCORD_BILLING_VENDOR", vendor)
    _runtime.reset_container()  # a new cold start reads the new configuration
    from entrypoints.lambdas import access_manager, account

    report = access_manager.handler({})
    assert sorted(report["refreshed"]) == ["salesforce", "zuora"] and not report["revoked"]
    crm_id = SalesforceSeed(stack["salesforce"]).create_account(
        {"name": "Wired Ltd", "email": "ap@wired.example", "currency": "EUR"})
    stack["salesforce"].emitter.flush()  # Event Relay is asynchronous: wait for the change event
    [created] = [e for e in stack["relayed"] if e["detail-type"] == "AccountChangeEvent"]
    result = account.handler(_sqs_event(created))
    assert result == {"batchItemFailures": []}
    services = _runtime.container().services()
    assert services.billing.vendor == vendor
    billing = services.billing.find_account(crm_id)
    assert billing is not None and billing.fields["name"] == "Wired Ltd"
    assert type(services.app.recorder).__module__.startswith("adapters.aws.dynamodb_eventstore")
