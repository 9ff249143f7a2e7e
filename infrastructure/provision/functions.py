"""Function specs: each AWS::Serverless::Function with its Handler, merged environment and event sources.

Lambda itself is not provisioned (moto would need the code zipped and a Docker runtime); the local
runtime runs each handler in-process from these specs. Schedules and WebSocket routes point at a function
by ARN, which resolves to the same stand-in ARN the function itself has, so they are matched by ARN.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .cfn_yaml import TemplateError
from .intrinsics import Resolver
from .model import (
    EventSource,
    FunctionSpec,
    HttpRoute,
    QueueInfo,
    ScheduleSource,
    SqsSource,
    StreamSource,
    TableInfo,
    WebSocketRoute,
)

_INTEGRATION_REF = re.compile(r"integrations/\$\{(\w+)\}")


Queues = Mapping[str, QueueInfo]
Tables = Mapping[str, TableInfo]


def function_specs(
    template: Mapping[str, Any], resolver: Resolver, queues: Queues, tables: Tables
) -> dict[str, FunctionSpec]:
    resources = template["Resources"]
    defaults = template.get("Globals", {}).get("Function", {})
    external = _external_sources(resources, resolver)
    specs = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function" or not resolver.included(resource):
            continue
        props = resource["Properties"]
        environment = {
            **resolver.resolve(defaults.get("Environment", {}).get("Variables", {})),
            **resolver.resolve(props.get("Environment", {}).get("Variables", {})),
        }
        arn = resolver.get_att(logical_id, "Arn")
        events = [_event_source(resolver, e, queues, tables) for e in props.get("Events", {}).values()]
        dlq = props.get("DeadLetterQueue", {}).get("TargetArn")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=str(resolver.ref(logical_id)),
            handler=props["Handler"],
            environment={key: str(value) for key, value in environment.items()},
            timeout_s=int(resolver.resolve(props.get("Timeout", defaults.get("Timeout", 3)))),
            events=tuple(events) + tuple(external.get(arn, ())),
            dead_letter_queue_logical_id=_logical_id(dlq) if dlq else None,
        )
    return specs


def _event_source(resolver: Resolver, event: Any, queues: Queues, tables: Tables) -> EventSource:
    kind, props = event["Type"], resolver.resolve(event.get("Properties", {}))
    if kind == "SQS":
        return _sqs_source(props, queues)
    if kind == "DynamoDB":
        on_failure = event["Properties"].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        return _stream_source(props, tables, _logical_id(on_failure) if on_failure else None)
    if kind == "HttpApi":
        return HttpRoute(method=props["Method"].upper(), path=props["Path"])
    raise TemplateError(f"event source type {kind!r} is not supported by the local runtime")


def _sqs_source(props: Mapping[str, Any], queues: Queues) -> SqsSource:
    matching = [q for q in queues.values() if q.arn == props["Queue"]]
    if not matching:
        raise TemplateError(f"SQS event source on {props['Queue']}, which the template does not declare")
    concurrency = props.get("ScalingConfig", {}).get("MaximumConcurrency")
    return SqsSource(
        queue_logical_id=matching[0].logical_id,
        queue_url=matching[0].url,
        batch_size=int(props.get("BatchSize", 10)),
        maximum_concurrency=int(concurrency) if concurrency is not None else None,
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
    )


def _stream_source(props: Mapping[str, Any], tables: Tables, on_failure: str | None) -> StreamSource:
    matching = [t for t in tables.values() if t.stream_arn == props["Stream"]]
    if not matching:
        raise TemplateError(f"stream event source on {props['Stream']}, which no declared table has")
    return StreamSource(
        table_logical_id=matching[0].logical_id,
        stream_arn=props["Stream"],
        batch_size=int(props.get("BatchSize", 100)),
        starting_position=props["StartingPosition"],
        on_failure_queue_logical_id=on_failure,
        report_batch_item_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        bisect_batch_on_function_error=bool(props.get("BisectBatchOnFunctionError", False)),
    )


def _external_sources(resources: Mapping[str, Any], resolver: Resolver) -> dict[str, list[EventSource]]:
    """Schedules and WebSocket routes, keyed by the ARN of the function they invoke."""
    found: dict[str, list[EventSource]] = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::Scheduler::Schedule" and resolver.included(resource):
            props = resolver.resolve(resource["Properties"])
            target = props["Target"]
            source = ScheduleSource(
                name=props["Name"],
                expression=props["ScheduleExpression"],
                input=json.loads(target["Input"]) if "Input" in target else None,
            )
            found.setdefault(target["Arn"], []).append(source)
        elif resource["Type"] == "AWS::ApiGatewayV2::Route":
            route = resource["Properties"]
            match = _INTEGRATION_REF.fullmatch(str(route["Target"].get("Fn::Sub", "")))
            if match is None:
                continue
            uri = resolver.resolve(resources[match.group(1)]["Properties"]["IntegrationUri"])
            function_arn = uri.split("/functions/")[1].removesuffix("/invocations")
            found.setdefault(function_arn, []).append(WebSocketRoute(route_key=route["RouteKey"]))
    return found


def _logical_id(get_att: Any) -> str:
    """The logical id inside a {"Fn::GetAtt": ...} (the template names DLQs that way)."""
    value = get_att["Fn::GetAtt"]
    return str(value[0] if isinstance(value, list) else value.split(".")[0])
