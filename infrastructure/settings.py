"""Typed settings (DESIGN §5): one object, prefix CONCORD_, read once per cold start.

Users set only these. AWS endpoints follow boto3's own AWS_ENDPOINT_URL. The unprefixed names
eventsourcing reads (PERSISTENCE_MODULE, DYNAMODB_TABLE, CREATE_TABLE, CIPHER_KEY) are built from
these by the container (infrastructure/container.py); they are not a user knob.

Rate limits across Lambda instances (DESIGN §2): a vendor sees at most
    MaximumConcurrency(event source mapping) x <vendor>_rate_per_s   requests per second,
so the template sets each queue's MaximumConcurrency and these per-process rates together:
    salesforce: 2 x 5/s = 10/s     zuora: 2 x 10/s = 20/s     stripe: 2 x 10/s = 20/s  (defaults)
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="ignore", frozen=True)

    stage: str = "dev"
    billing_vendor: Literal["zuora", "stripe"] = "zuora"
    event_store: Literal["memory", "sqlite", "dynamodb"] = "memory"
    sqlite_path: str = ".concord/events.sqlite"

    salesforce_url: str = "https://login.salesforce.com"
    salesforce_api_version: str = "60.0"
    salesforce_integration_client: str = "concord"  # Sforce-Call-Options client=, for echo suppression
    zuora_url: str = "https://rest.apisandbox.zuora.com"
    stripe_url: str = "https://api.stripe.com"

    events_table: str = "concord-events"
    bus_name: str = "concord-bus"
    connections_table: str = "concord-connections"
    sources_table: str = "concord-sources"
    destinations_table: str = "concord-destinations"
    leases_table: str = "concord-leases"
    idempotency_table: str = "concord-idempotency"
    kms_key_id: str = "alias/concord"
    websocket_management_url: str = ""  # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}

    # Token reads (DESIGN §2.5). refresh margin > extension TTL + in-process TTL, checked below.
    token_cache_ttl_s: int = 60
    extension_ttl_s: int = 300
    token_refresh_margin_s: int = 900

    salesforce_rate_per_s: float = Field(5.0, gt=0)
    zuora_rate_per_s: float = Field(10.0, gt=0)
    stripe_rate_per_s: float = Field(10.0, gt=0)
    max_concurrency: int = Field(2, ge=2)  # event source mapping MaximumConcurrency (AWS minimum is 2)
    # Salesforce API calls of the rolling 24 h quota a backfill leaves for live sync: it pauses (exit 75)
    # before the remaining calls (Sforce-Limit-Info) would drop below this floor.
    salesforce_quota_floor: int = Field(5000, ge=0)

    log_level: str = "INFO"

    # Where the on-demand token refresh runs: "invoke" the access manager function (AWS), or
    # "inline" in the reader's process (the local stack and one-process runs).
    token_refresh_mode: Literal["invoke", "inline"] = "invoke"
    access_manager_function: str = "concord-access-manager"
    # Secrets Manager name of the event store's AES key; empty: events are stored unencrypted.
    cipher_secret_name: str = ""
    # Max receives before a message is dead-lettered by the consumer itself (the queue's redrive is 5).
    max_receives: int = 5

    def token_path(self, system: str) -> str:
        return f"/concord/{self.stage}/tokens/{system}"

    def credentials_secret(self, system: str) -> str:
        return f"concord/{self.stage}/credentials/{system}"

    def vendor_ceiling_per_s(self, vendor: str) -> float:
        """The most requests per second all instances together can send to a vendor."""
        rate: float = getattr(self, f"{vendor}_rate_per_s")
        return self.max_concurrency * rate

    def model_post_init(self, __context: object) -> None:
        if self.token_refresh_margin_s <= self.extension_ttl_s + self.token_cache_ttl_s:
            raise ValueError(
                "CONCORD_TOKEN_REFRESH_MARGIN_S must exceed the extension TTL plus the in-process TTL, "
                "or readers could hold a token past its expiry"
            )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
