"""The three vendor sandboxes of the local stack, their credentials and the secrets concord reads.

Salesforce emits CDC in Event Relay's envelope onto the partner bus in moto; Zuora's callouts (basic
auth) and Stripe's signed webhooks go to the gateway once it listens. Every credential is made up
here, per run, and stored where production keeps it (DESIGN §2.5, §4):
    concord/<stage>/credentials/{salesforce,zuora,stripe}    vendor credentials (the access manager's)
    concord/<stage>/webhooks/stripe, .../webhooks/zuora      what the gateway verifies callers with
    concord/<stage>/websocket-jwt                            the WebSocket JWT secret
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from typing import Any

from infrastructure.local.environment import LocalAws
from infrastructure.sandboxes.salesforce import PutEventsSink, SalesforceSandbox
from infrastructure.sandboxes.stripe import StripeSandbox
from infrastructure.sandboxes.zuora import ZuoraSandbox

logger = logging.getLogger("concord.local.sandboxes")


def _token(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(24)


def _new_credentials() -> dict[str, dict[str, str]]:
    """Made up per run: nothing real ever reaches the local stack."""
    return {
        "salesforce": {"client_id": _token("3MVG9local."), "client_secret": _token()},
        "zuora": {"client_id": _token("zu-"), "client_secret": _token()},
        "stripe": {"api_key": _token("sk_test_")},
        "zuora_callout": {"username": "concord-callouts", "password": _token()},
        "stripe_webhook": {"secret": _token("whsec_")},
        "websocket": {"secret": _token()},
    }


@dataclass
class Sandboxes:
    salesforce: SalesforceSandbox
    zuora: ZuoraSandbox
    stripe: StripeSandbox
    credentials: dict[str, dict[str, str]]

    @classmethod
    def start(cls, aws: LocalAws, partner_bus: str) -> Sandboxes:
        # The sink's boto3 client finds its credentials in the environment; moto takes any.
        for name, value in aws.client_environment().items():
            if name != "AWS_ENDPOINT_URL":
                os.environ.setdefault(name, value)
        credentials = _new_credentials()
        sink = PutEventsSink(aws.endpoint_url, partner_bus, aws.region)
        salesforce = SalesforceSandbox(credentials["salesforce"]["client_id"],
                                       credentials["salesforce"]["client_secret"], events_to=sink)
        zuora = ZuoraSandbox(credentials["zuora"]["client_id"], credentials["zuora"]["client_secret"],
                             callout_user=credentials["zuora_callout"]["username"],
                             callout_password=credentials["zuora_callout"]["password"])
        stripe = StripeSandbox([credentials["stripe"]["api_key"]],
                               webhook_secrets=[credentials["stripe_webhook"]["secret"]])
        started = cls(salesforce, zuora, stripe, credentials)
        try:
            for sandbox in (salesforce, zuora, stripe):
                sandbox.start()
        except BaseException:
            started.stop()
            raise
        return started

    def template_parameters(self) -> dict[str, str]:
        return {
            "SalesforceUrl": self.salesforce.url,
            "ZuoraUrl": self.zuora.url,
            "StripeUrl": self.stripe.url,
        }

    def urls(self) -> dict[str, str]:
        return {"salesforce": self.salesforce.url, "zuora": self.zuora.url, "stripe": self.stripe.url}

    def store_secrets(self, client: Any, stage: str, kms_key_id: str) -> dict[str, Any]:
        values: dict[str, Any] = {
            f"concord/{stage}/credentials/salesforce": self.credentials["salesforce"],
            f"concord/{stage}/credentials/zuora": self.credentials["zuora"],
            f"concord/{stage}/credentials/stripe": self.credentials["stripe"],
            f"concord/{stage}/webhooks/stripe": [self.credentials["stripe_webhook"]["secret"]],
            f"concord/{stage}/webhooks/zuora": self.credentials["zuora_callout"],
            f"concord/{stage}/websocket-jwt": self.credentials["websocket"]["secret"],
        }
        for name, value in values.items():
            text = value if isinstance(value, str) else json.dumps(value)
            try:
                client.create_secret(Name=name, SecretString=text, KmsKeyId=kms_key_id)
            except client.exceptions.ResourceExistsException:
                client.put_secret_value(SecretId=name, SecretString=text)
        return values

    def point_at_gateway(self, gateway_url: str) -> None:
        """Callouts and webhooks need the gateway's URL, known only once it listens."""
        self.zuora.callouts.url = f"{gateway_url}/webhooks/zuora"
        self.stripe.events.webhook_url = f"{gateway_url}/webhooks/stripe"

    def public_credentials(self) -> dict[str, dict[str, str]]:
        """For dev.json (mode 0600): what a developer needs to act as a CRM or billing user."""
        return {
            "salesforce": self.credentials["salesforce"],
            "zuora": self.credentials["zuora"],
            "stripe": self.credentials["stripe"],
        }

    def stop(self) -> None:
        for sandbox in (self.salesforce, self.zuora, self.stripe):
            try:
                sandbox.stop()
            except Exception:  # one sandbox failing to stop must not keep the others running
                logger.exception("stopping the %s sandbox", sandbox.name)
