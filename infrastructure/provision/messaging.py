"""SQS queues (with redrive and queue policies), EventBridge buses, rules and their targets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .intrinsics import Resolver
from .model import QueueInfo, RuleInfo

# CloudFormation queue properties that are plain SQS attributes (values sent as strings).
_QUEUE_ATTRIBUTES = ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "SqsManagedSseEnabled")


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def ensure_queue(sqs: Any, resolver: Resolver, logical_id: str, properties: Mapping[str, Any]) -> None:
    """Create (or update) the queue without its RedrivePolicy: a DLQ may not exist yet."""
    props = resolver.resolve({k: v for k, v in properties.items() if k != "RedrivePolicy"})
    name = props["QueueName"]
    attributes = {key: _attribute(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("AWS.SimpleQueueService.NonExistentQueue",
                                                               "QueueDoesNotExist"):
            raise
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resolver.bind(logical_id, url, Arn=arn, QueueName=name)


def apply_redrive(sqs: Any, resolver: Resolver, logical_id: str, properties: Mapping[str, Any]) -> QueueInfo:
    """Second pass, once every queue exists: the RedrivePolicy, and the queue's description."""
    url = resolver.ref(logical_id)
    redrive = resolver.resolve(properties.get("RedrivePolicy"))
    if redrive:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})
    dlq = _logical_id_of_arn(resolver, properties, redrive)
    return QueueInfo(
        logical_id=logical_id,
        name=resolver.get_att(logical_id, "QueueName"),
        url=url,
        arn=resolver.get_att(logical_id, "Arn"),
        visibility_timeout_s=int(resolver.resolve(properties.get("VisibilityTimeout", 30))),
        dead_letter_logical_id=dlq,
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
    )


def _logical_id_of_arn(resolver: Resolver, properties: Mapping[str, Any], redrive: Any) -> str | None:
    target = (properties.get("RedrivePolicy") or {}).get("deadLetterTargetArn")
    if not redrive or not isinstance(target, dict) or "Fn::GetAtt" not in target:
        return None
    get_att = target["Fn::GetAtt"]
    return str(get_att[0] if isinstance(get_att, list) else get_att.split(".")[0])


def apply_queue_policy(sqs: Any, resolver: Resolver, properties: Mapping[str, Any]) -> None:
    props = resolver.resolve(properties)
    for url in props["Queues"]:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(props["PolicyDocument"])})


def ensure_bus(events: Any, name: str) -> str:
    """A custom event bus (concord's, or the local stand-in for the Salesforce partner bus); its ARN."""
    try:
        return str(events.describe_event_bus(Name=name)["Arn"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    return str(events.create_event_bus(Name=name)["EventBusArn"])


def ensure_archive(events: Any, resolver: Resolver, properties: Mapping[str, Any]) -> str:
    """The bus archive (for replays); kept if it exists."""
    props = resolver.resolve(dict(properties))
    name = str(props["ArchiveName"])
    try:
        return str(events.describe_archive(ArchiveName=name)["ArchiveArn"])
    except events.exceptions.ResourceNotFoundException:
        created = events.create_archive(ArchiveName=name, EventSourceArn=props["SourceArn"],
                                        RetentionDays=int(props.get("RetentionDays", 0)),
                                        Description=str(props.get("Description", "")))
        return str(created["ArchiveArn"])


def ensure_rule(events: Any, resolver: Resolver, logical_id: str, properties: Mapping[str, Any]) -> RuleInfo:
    props = resolver.resolve(properties)
    bus = props.get("EventBusName", "default")
    pattern = props["EventPattern"]
    arn = events.put_rule(
        Name=props["Name"],
        EventBusName=bus,
        EventPattern=json.dumps(pattern),
        State=props.get("State", "ENABLED"),
        Description=props.get("Description", ""),
    )["RuleArn"]
    targets = props.get("Targets", [])
    if targets:
        events.put_targets(Rule=props["Name"], EventBusName=bus, Targets=targets)
    resolver.bind(logical_id, f"{bus}|{props['Name']}", Arn=arn)
    return RuleInfo(
        logical_id=logical_id,
        name=props["Name"],
        arn=arn,
        bus_name=bus,
        event_pattern=pattern,
        target_arns=tuple(target["Arn"] for target in targets),
    )
