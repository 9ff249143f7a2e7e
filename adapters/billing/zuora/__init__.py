"""Zuora billing adapter: client (HTTP + error classes), auth (OAuth), mapping (pure), gateway (the port)."""

from __future__ import annotations

from adapters.billing.zuora.auth import ZuoraAuth
from adapters.billing.zuora.client import ZuoraClient
from adapters.billing.zuora.gateway import ZuoraBilling
from adapters.outbound import RetryPolicy, TokenBucket


def build_zuora_billing(base_url: str, client_id: str, client_secret: str, *, rate_per_s: float = 50.0,
                        retry: RetryPolicy | None = None, timeout_s: float = 30.0) -> ZuoraBilling:
    """A gateway that fetches its own tokens (local stack, tests); production passes SSM-backed tokens."""
    tokens = ZuoraAuth(base_url, client_id, client_secret).tokens()
    client = ZuoraClient(base_url, tokens=tokens, bucket=TokenBucket(rate_per_s), retry=retry, timeout_s=timeout_s)
    return ZuoraBilling(client)


__all__ = ["ZuoraAuth", "ZuoraBilling", "ZuoraClient", "build_zuora_billing"]
