"""The event gateway's DynamoDB tables (DESIGN §2.3, §4): sources, destinations, idempotency.

Each table: partition key `id` (string), on-demand; the idempotency table has TTL on `expiration`.
`create_gateway_tables` builds them so for the local stack and the tests; the template declares the same.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.gateway_tables._dynamo import create_table
from adapters.aws.gateway_tables.destinations import DestinationsTable
from adapters.aws.gateway_tables.idempotency import IdempotencyTable
from adapters.aws.gateway_tables.sources import SourcesTable

__all__ = ["DestinationsTable", "IdempotencyTable", "SourcesTable", "create_gateway_tables"]


def create_gateway_tables(client: Any, *, sources: str, destinations: str, idempotency: str) -> None:
    create_table(client, sources)
    create_table(client, destinations)
    create_table(client, idempotency, ttl=True)
