"""Shared plumbing of the gateway tables: attribute (de)serialisation and the table schemas.

Every gateway table has one string partition key, `id`, and (idempotency only) TTL on `expiration`
(epoch seconds) — the attribute names AWS Lambda Powertools' idempotency layer uses by default.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from adapters.aws.lease import AwsFailure, aws_error

KEY = "id"
TTL_ATTRIBUTE = "expiration"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def get(client: Any, table: str, key: str, *, system: str) -> dict[str, Any] | None:
    try:
        answer = client.get_item(TableName=table, Key={KEY: {"S": key}}, ConsistentRead=True)
    except AwsFailure as exc:
        raise aws_error(exc, system=system, action="GetItem") from exc
    item = answer.get("Item")
    return from_item(item) if item else None


def scan(client: Any, table: str, *, system: str, prefix: str = "") -> Iterator[dict[str, Any]]:
    """Every item (whose id starts with `prefix`), page after page. The tables are small (tens of rows)."""
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    if prefix:
        kwargs.update(FilterExpression="begins_with(#id, :prefix)", ExpressionAttributeNames={"#id": KEY},
                      ExpressionAttributeValues={":prefix": {"S": prefix}})
    while True:
        try:
            page = client.scan(**kwargs)
        except AwsFailure as exc:
            raise aws_error(exc, system=system, action="Scan") from exc
        yield from (from_item(item) for item in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def create_table(client: Any, table: str, *, ttl: bool = False) -> None:
    """The table as the template declares it (on-demand, `id` string key): for the local stack and tests."""
    client.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                        AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                        KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}])
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    if ttl:
        client.update_time_to_live(TableName=table, TimeToLiveSpecification={
            "Enabled": True, "AttributeName": TTL_ATTRIBUTE})
