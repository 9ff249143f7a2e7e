"""Builders the container calls: each makes one real client or adapter from the settings.

Nothing here runs at import time; boto3 and the vendor modules are imported inside the builders,
so a Lambda pays only for what its handler uses (cold start).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infrastructure.settings import Settings

_clients: dict[str, Any] = {}
_session: Any = None
_lock = threading.Lock()


def aws_client(service: str) -> Any:
    """One boto3 client per service per process (clients are thread-safe; sessions are not, hence the lock).

    One session for all of them: a session caches what botocore loads from disk (the endpoint rules,
    the list of services, retry and default configuration), so a session per client paid those loads
    again for every client: about 0.2 s per client on a cold start (benchmarks/cold_start.py).
    """
    global _session
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
            if _session is None:
                _session = boto3.session.Session()
            _clients[service] = _session.client(service, config=config)
        return _clients[service]


class LazyClient:
    """A boto3 client built on its first use (cold start pays only for the clients a path touches)."""

    def __init__(self, service: str) -> None:
        self.service = service

    def __getattr__(self, name: str) -> Any:
        return getattr(aws_client(self.service), name)


def eventsourcing_env(settings: Settings) -> dict[str, str]:
    """The library's own environment, built from the typed settings (DESIGN §5: not a user knob)."""
    env: dict[str, str] = {}
    if settings.event_store == "memory":
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
    elif settings.event_store == "sqlite":
        os.makedirs(os.path.dirname(settings.sqlite_path) or ".", exist_ok=True)
        env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=settings.sqlite_path)
    else:
        env.update(PERSISTENCE_MODULE="adapters.aws.dynamodb_eventstore", DYNAMODB_TABLE=settings.events_table,
                   CREATE_TABLE="n" if settings.stage not in ("dev", "local") else "y")
    if settings.cipher_secret_name:
        secret = aws_client("secretsmanager").get_secret_value(SecretId=settings.cipher_secret_name)
        env.update(CIPHER_TOPIC="eventsourcing.cipher:AESCipher", CIPHER_KEY=secret["SecretString"],
                   COMPRESSOR_TOPIC="eventsourcing.compressor:ZlibCompressor")
    return env


def credential_store(settings: Settings) -> Any:
    from adapters.aws.secrets import CredentialStore

    return CredentialStore(aws_client("secretsmanager"), settings.stage, settings.kms_key_id)


def token_writer(settings: Settings) -> Any:
    from adapters.aws.token_store import SsmTokenWriter

    return SsmTokenWriter(aws_client("ssm"), settings.stage, settings.kms_key_id)


def minters(settings: Settings) -> dict[str, Any]:
    """Vendor auth per system, built from the credentials in Secrets Manager."""
    from infrastructure.minting import build_minters

    return build_minters(settings, credential_store(settings))


def refresh_now(settings: Settings) -> Callable[[str], None]:
    """How a reader asks for an on-demand refresh after a 401 on an unchanged token."""
    if settings.token_refresh_mode == "inline":
        def inline(system: str) -> None:
            from application.access import refresh_tokens

            refresh_tokens([system], minters(settings), token_writer(settings), _UtcClock(),
                           settings.token_refresh_margin_s, force=True)
        return inline

    def invoke(system: str) -> None:
        import json

        aws_client("lambda").invoke(FunctionName=settings.access_manager_function, InvocationType="Event",
                                    Payload=json.dumps({"system": system, "reason": "401"}).encode())
    return invoke


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def token_provider(settings: Settings) -> Any:
    from adapters.aws.lease import Lease
    from adapters.aws.token_store import SsmTokenProvider

    port = os.environ.get("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT")
    # With the extension present, SSM and the lease table serve only the 401 path: built on first use.
    lease = Lease(LazyClient("dynamodb"), settings.leases_table)
    return SsmTokenProvider(LazyClient("ssm"), settings.stage, lease=lease,
                            request_refresh=refresh_now(settings), extension_port=int(port) if port else None,
                            ttl_s=settings.token_cache_ttl_s)


def salesforce(settings: Settings, tokens: Any) -> Any:
    from adapters.crm.salesforce.client import SalesforceHttp
    from adapters.crm.salesforce.gateway import SalesforceCrm
    from adapters.outbound import TokenBucket

    instance_url = tokens.details("salesforce").instance_url or settings.salesforce_url
    http = SalesforceHttp(instance_url, tokens=tokens, api_version=settings.salesforce_api_version,
                          call_client=settings.salesforce_integration_client,
                          bucket=TokenBucket(settings.salesforce_rate_per_s))
    return SalesforceCrm(http)


def zuora(settings: Settings, tokens: Any) -> Any:
    from adapters.billing.zuora.client import ZuoraClient
    from adapters.billing.zuora.gateway import ZuoraBilling
    from adapters.outbound import TokenBucket

    return ZuoraBilling(ZuoraClient(settings.zuora_url, tokens=tokens, bucket=TokenBucket(settings.zuora_rate_per_s)))


def stripe(settings: Settings) -> Any:
    from adapters.aws.secrets import ApiKeyTokens
    from adapters.billing.stripe.client import StripeHttp
    from adapters.billing.stripe.gateway import StripeBilling
    from adapters.outbound import TokenBucket

    tokens = ApiKeyTokens(credential_store(settings), ttl_s=settings.token_cache_ttl_s)
    return StripeBilling(StripeHttp(settings.stripe_url, tokens=tokens, bucket=TokenBucket(settings.stripe_rate_per_s)))


def publisher(settings: Settings) -> Any:
    from adapters.aws.eventbridge import EventBridgePublisher

    return EventBridgePublisher(aws_client("events"), settings.bus_name)


def dead_letters(settings: Settings) -> Any:
    from adapters.aws.sqs_batch.dead_letter import SqsDeadLetterSink

    return SqsDeadLetterSink(aws_client("sqs"), os.environ.get("CONCORD_DLQ_URL", ""))
