"""KMS key and alias, DynamoDB tables: created once, found again on the next run (idempotent)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .intrinsics import Resolver
from .model import TableInfo

Properties = Mapping[str, Any]


def ensure_key(kms: Any, resolver: Resolver, key_id: str, alias_id: str, resources: Mapping[str, Any]) -> str:
    """The key behind the template's alias, created with its key policy if the alias does not exist yet.

    KMS keys have no name, so the alias is what makes a second run find the first run's key.
    Returns the alias name.
    """
    alias = resolver.resolve(resources[alias_id]["Properties"]["AliasName"])
    existing = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == alias and a.get("TargetKeyId")]
    if existing:
        metadata = kms.describe_key(KeyId=existing[0]["TargetKeyId"])["KeyMetadata"]
    else:
        props = resolver.resolve(resources[key_id]["Properties"])
        policy = json.dumps(props["KeyPolicy"])
        created = kms.create_key(Description=props.get("Description", ""), Policy=policy)
        metadata = created["KeyMetadata"]
        if props.get("EnableKeyRotation"):
            kms.enable_key_rotation(KeyId=metadata["KeyId"])
        kms.create_alias(AliasName=alias, TargetKeyId=metadata["KeyId"])
    resolver.bind(key_id, metadata["KeyId"], Arn=metadata["Arn"], KeyId=metadata["KeyId"])
    resolver.bind(alias_id, alias)
    return str(alias)


def ensure_table(dynamodb: Any, resolver: Resolver, logical_id: str, properties: Properties) -> TableInfo:
    props = resolver.resolve(properties)
    name = props["TableName"]
    try:
        description = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        dynamodb.create_table(**_create_request(props))
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})
        description = dynamodb.describe_table(TableName=name)["Table"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        _ensure_ttl(dynamodb, name, ttl["AttributeName"])
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )
    stream_arn = description.get("LatestStreamArn")
    attributes = {"Arn": description["TableArn"], **({"StreamArn": stream_arn} if stream_arn else {})}
    resolver.bind(logical_id, name, **attributes)
    return TableInfo(
        logical_id=logical_id,
        name=name,
        arn=description["TableArn"],
        stream_arn=stream_arn,
        ttl_attribute=ttl["AttributeName"] if ttl and ttl.get("Enabled") else None,
        indexes=tuple(index["IndexName"] for index in props.get("GlobalSecondaryIndexes", [])),
    )


def _create_request(props: Mapping[str, Any]) -> dict[str, Any]:
    """CloudFormation's table properties as the CreateTable API spells them."""
    request: dict[str, Any] = {
        key: props[key]
        for key in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
        if key in props
    }
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse and sse.get("SSEEnabled"):
        request["SSESpecification"] = {"Enabled": True}
        if sse.get("SSEType") == "KMS":
            request["SSESpecification"].update(SSEType="KMS", KMSMasterKeyId=sse["KMSMasterKeyId"])
    return request


def _ensure_ttl(dynamodb: Any, table: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    enabled = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if enabled and current.get("AttributeName") == attribute:
        return  # DynamoDB refuses to "enable" TTL a second time
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )
