"""Builds the gateway's and the delivery function's dependencies once per cold start, from settings.

Small on purpose: the lead's DI container (infrastructure/container.py) replaces it. Nothing here runs
at import time; the handlers call these lazily, so no network connection opens during INIT.
Secrets (never in env): `concord/<stage>/webhooks/stripe` = a JSON list of signing secrets (or one
string); `concord/<stage>/webhooks/zuora` = {"username", "password"} or a list of them (rotation).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import boto3

from adapters.aws.eventbridge import EventBridgePublisher
from adapters.aws.gateway_tables import DestinationsTable, IdempotencyTable, SourcesTable
from adapters.aws.lease import AwsFailure, aws_error
from adapters.billing.stripe.webhook import WebhookSignatureError, verify_signature
from adapters.http_delivery import HttpDeliverySender, PerDestinationBuckets
from adapters.outbound import RetryPolicy
from application.delivery import Deliverer
from application.errors import PermanentError
from application.gateway import EventGateway, SignatureRejected
from infrastructure.settings import get_settings

SECRET_TTL_S = 300.0  # a rotated secret reaches every warm instance within this


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecretsCache:
    """Secrets Manager JSON values, cached `ttl_s` per instance."""

    def __init__(self, client: Any, ttl_s: float = SECRET_TTL_S, clock: Callable[[], float] = time.monotonic):
        self._client, self._ttl_s, self._clock = client, ttl_s, clock
        self._values: dict[str, tuple[float, Any]] = {}

    def read(self, name: str) -> Any:
        cached = self._values.get(name)
        if cached is not None and self._clock() < cached[0]:
            return cached[1]
        try:
            text = self._client.get_secret_value(SecretId=name)["SecretString"]
        except AwsFailure as exc:
            raise aws_error(exc, system="secretsmanager", action=f"GetSecretValue {name}") from exc
        try:
            value = json.loads(text)
        except ValueError:
            value = text  # a bare string secret
        self._values[name] = (self._clock() + self._ttl_s, value)
        return value

    def read_json(self, ref: str) -> dict[str, str]:
        value = self.read(ref)
        if not isinstance(value, dict):
            raise PermanentError(f"secret {ref} is not a JSON object", system="secretsmanager", field=ref)
        return {str(k): str(v) for k, v in value.items()}


class StripeVerifier:
    """WebhookVerifier over adapters.billing.stripe.webhook: any current secret, 300 s tolerance."""

    def __init__(self, secrets: Callable[[], Sequence[str]], now: Callable[[], float] = time.time) -> None:
        self._secrets, self._now = secrets, now

    def verify(self, raw_body: bytes, header: str) -> None:
        try:
            verify_signature(raw_body, header, self._secrets(), tolerance_s=300, now=self._now())
        except WebhookSignatureError as exc:
            raise SignatureRejected(f"{exc.reason}: {exc.message}") from exc


class ZuoraCredentials:
    def __init__(self, read: Callable[[], Any]) -> None:
        self._read = read

    def credentials(self) -> list[tuple[str, str]]:
        value = self._read()
        pairs = value if isinstance(value, list) else [value]
        return [(str(p["username"]), str(p["password"])) for p in pairs
                if isinstance(p, dict) and p.get("username") and p.get("password")]


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@cache
def _clients() -> dict[str, Any]:
    return {name: boto3.client(name) for name in ("dynamodb", "events", "secretsmanager", "sqs")}


@cache
def secrets() -> SecretsCache:
    return SecretsCache(_clients()["secretsmanager"])


def idempotency() -> IdempotencyTable:
    return IdempotencyTable(_clients()["dynamodb"], get_settings().idempotency_table)


def sources_table() -> SourcesTable:
    return SourcesTable(_clients()["dynamodb"], get_settings().sources_table)


def destinations_table() -> DestinationsTable:
    return DestinationsTable(_clients()["dynamodb"], get_settings().destinations_table)


def publisher() -> EventBridgePublisher:
    return EventBridgePublisher(_clients()["events"], get_settings().bus_name)


@cache
def gateway() -> EventGateway:
    stage = get_settings().stage
    return EventGateway(
        sources=sources_table(), idempotency=idempotency(), publisher=publisher(),
        stripe=StripeVerifier(lambda: _strings(secrets().read(f"concord/{stage}/webhooks/stripe"))),
        zuora=ZuoraCredentials(lambda: secrets().read(f"concord/{stage}/webhooks/zuora")))


@cache
def deliverer() -> Deliverer:
    return Deliverer(directory=destinations_table(), sender=HttpDeliverySender(), secrets=secrets(),
                     limiter=PerDestinationBuckets(), backoff=RetryPolicy(max_attempts=3, max_delay_s=5.0),
                     clock=UtcClock(), sleep=time.sleep, ledger=idempotency())


def dlq_url() -> str:
    # CONCORD_DLQ_URL is per function (docs/bus-contract.md) and not (yet) a Settings field.
    return os.environ.get("CONCORD_DLQ_URL", "")
