"""What the local stack puts into a freshly provisioned moto beyond the template: the demo gateway
source, and (a workaround, reported) gateway tables keyed the way their adapter reads them."""

from __future__ import annotations

import logging
from typing import Any

from infrastructure.provision import Topology

logger = logging.getLogger("concord.local.stack")


def align_gateway_tables(dynamodb: Any, topology: Topology) -> None:
    """WORKAROUND (reported to the lead): template.yaml keys the sources/destinations/idempotency tables on
    `pk` (TTL `expires_at`); adapters/aws/gateway_tables reads and writes `id` (TTL `expiration`). Until one
    side changes, a table whose key is not the adapter's is re-created the adapter's way; a no-op once the
    two agree."""
    from adapters.aws.gateway_tables._dynamo import KEY, create_table

    for logical_id in ("SourcesTable", "DestinationsTable", "IdempotencyTable"):
        name = topology.tables[logical_id].name
        schema = dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]
        if schema[0]["AttributeName"] == KEY:
            continue
        logger.warning("re-creating %s with the gateway adapter's key %r (the template says %r)", name, KEY,
                       schema[0]["AttributeName"])
        dynamodb.delete_table(TableName=name)
        dynamodb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1})
        create_table(dynamodb, name, ttl=logical_id == "IdempotencyTable")


def register_demo_source(dynamodb: Any, topology: Topology, source: tuple[str, str, tuple[str, ...]]) -> str:
    """A gateway source as `concord sources add` registers one; its API key (shown once)."""
    from adapters.aws.gateway_tables import SourcesTable
    from application.gateway.admin import add_source

    name, source_name, event_names = source
    table = SourcesTable(dynamodb, topology.tables["SourcesTable"].name)
    _, key = add_source(table, name=name, source=source_name, event_names=event_names)
    return key
