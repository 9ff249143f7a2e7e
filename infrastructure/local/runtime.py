"""LocalRuntime: runs every function of a provisioned Topology the way Lambda and its triggers would.

    runtime = LocalRuntime(topology, LocalAws(moto_url), log_dir=Path(".concord/logs"))
    endpoints = runtime.start()      # gateway, websocket, management and extension URLs
    runtime.invoke("AccessManagerFunction", {"reason": "schedule"})
    runtime.stop()

Each function runs with the template's Handler and Environment in its own worker processes
(functions.py says why processes). Its triggers come from the topology: SQS queues (sqs_source.py),
the events table stream (stream_source.py), schedules (schedules.py), HTTP API routes (http_api.py)
and WebSocket routes (websocket_api.py). A function whose handler module does not exist yet is
listed in `missing` and its triggers are not started: nothing pretends to run it.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infrastructure.local.environment import LocalAws, function_environment
from infrastructure.local.extension import ExtensionServer
from infrastructure.local.functions import FunctionError, LocalFunction
from infrastructure.local.http_api import HttpApi
from infrastructure.local.lambda_api import LambdaApi
from infrastructure.local.schedules import Schedule
from infrastructure.local.sqs_source import SqsEventSource
from infrastructure.local.stream_source import StreamEventSource
from infrastructure.local.websocket_api import WebSocketApi
from infrastructure.provision.model import (
    FunctionSpec,
    HttpRoute,
    ScheduleSource,
    SqsSource,
    StreamSource,
    Topology,
    WebSocketRoute,
)

logger = logging.getLogger("concord.local.runtime")


@dataclass(frozen=True)
class Endpoints:
    gateway: str
    websocket: str
    websocket_management: str
    extension: str


def handler_exists(handler: str) -> bool:
    module = handler.rpartition(".")[0]
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


class LocalRuntime:
    def __init__(self, topology: Topology, aws: LocalAws, *, log_dir: Path,
                 overrides: Mapping[str, str] | None = None, http_port: int = 0, idle_s: float = 1.0,
                 schedule_speedup: float = 1.0) -> None:
        self.topology, self.aws, self.log_dir, self.http_port = topology, aws, log_dir, http_port
        self.idle_s, self.schedule_speedup = idle_s, schedule_speedup
        self.overrides = dict(overrides or {})
        self.session_token = secrets.token_urlsafe(24)
        session = boto3.session.Session(aws.access_key_id, aws.secret_access_key, region_name=aws.region)
        self.clients = {name: session.client(name, endpoint_url=aws.endpoint_url)
                        for name in ("sqs", "dynamodbstreams", "ssm", "secretsmanager")}
        self.functions: dict[str, LocalFunction] = {}
        self.missing: dict[str, str] = {}
        self.sqs_sources: dict[str, SqsEventSource] = {}
        self.stream_sources: dict[str, StreamEventSource] = {}
        self.schedules: dict[str, Schedule] = {}
        ttl = float(next(iter(topology.functions.values())).environment.get("SSM_PARAMETER_STORE_TTL", 300))
        self.extension = ExtensionServer(self.clients["ssm"], self.clients["secretsmanager"], self.session_token,
                                         ttl_s=ttl)
        self.websocket = WebSocketApi(None, None, stage=topology.stage)
        self.lambda_api = LambdaApi(lambda: self.functions)
        self.http: HttpApi | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Endpoints:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        extension_url = self.extension.start()
        local = {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.extension.port),
                 "CONCORD_WEBSOCKET_MANAGEMENT_URL": self.websocket.management.url,
                 "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.start(), **self.overrides}
        for spec in self.topology.functions.values():
            if not handler_exists(spec.handler):
                self.missing[spec.logical_id] = spec.handler
                logger.warning("%s: handler %s does not exist; its triggers are not started",
                               spec.logical_id, spec.handler)
                continue
            environment = function_environment(spec, self.aws, session_token=self.session_token, local=local)
            self.functions[spec.logical_id] = LocalFunction(spec.name, spec.handler, environment,
                                                            timeout_s=spec.timeout_s, log_dir=self.log_dir,
                                                            max_instances=_instances(spec))
        routes = {}
        for spec in self.topology.functions.values():
            if spec.logical_id in self.functions:
                routes.update(self._wire(spec, self.functions[spec.logical_id]))
        self.http = HttpApi(routes, port=self.http_port)
        self.http.start()
        self.websocket.start()
        for source in [*self.sqs_sources.values(), *self.stream_sources.values(), *self.schedules.values()]:
            source.start()
        return Endpoints(self.http.url, self.websocket.url, self.websocket.management.url, extension_url)

    def stop(self) -> None:
        for source in [*self.schedules.values(), *self.sqs_sources.values(), *self.stream_sources.values()]:
            source.stop()
        if self.http is not None:
            self.http.stop()
        self.websocket.stop()
        self.extension.stop()
        self.lambda_api.stop()
        for function in self.functions.values():
            function.stop()

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.functions[logical_id].invoke(event)

    # -- triggers ----------------------------------------------------------------------------------
    def _wire(self, spec: FunctionSpec, function: LocalFunction) -> dict[tuple[str, str], LocalFunction]:
        routes: dict[tuple[str, str], LocalFunction] = {}
        for index, source in enumerate(spec.events):
            key = f"{spec.logical_id}:{index}"
            if isinstance(source, SqsSource):
                self.sqs_sources[key] = self._sqs(source, function)
            elif isinstance(source, StreamSource):
                self.stream_sources[key] = self._stream(source, function)
            elif isinstance(source, ScheduleSource):
                self.schedules[source.name] = Schedule(
                    source.name, source.expression, source.input or {},
                    lambda payload, s=spec, f=function: f.invoke_async(payload, on_failure=self._dead_letter(s)),
                    speedup=self.schedule_speedup)
            elif isinstance(source, HttpRoute):
                routes[(source.method, source.path)] = function
            elif isinstance(source, WebSocketRoute):
                setattr(self.websocket, "connect" if source.route_key == "$connect" else "disconnect", function)
        return routes

    def _sqs(self, source: SqsSource, function: LocalFunction) -> SqsEventSource:
        queue = self.topology.queues[source.queue_logical_id]
        return SqsEventSource(self.clients["sqs"], function, queue_url=queue.url, queue_arn=queue.arn,
                              region=self.aws.region, batch_size=source.batch_size,
                              maximum_concurrency=source.maximum_concurrency or 2,
                              report_batch_item_failures=source.report_batch_item_failures, idle_s=self.idle_s)

    def _stream(self, source: StreamSource, function: LocalFunction) -> StreamEventSource:
        target = source.on_failure_queue_logical_id
        url = self.topology.queues[target].url if target else None

        def on_failure(record: dict[str, Any]) -> None:
            if url:
                self.clients["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(record))
        return StreamEventSource(self.clients["dynamodbstreams"], function, stream_arn=source.stream_arn,
                                 region=self.aws.region, batch_size=source.batch_size,
                                 starting_position=source.starting_position,
                                 report_batch_item_failures=source.report_batch_item_failures,
                                 on_failure=on_failure, idle_s=self.idle_s)

    def _dead_letter(self, spec: FunctionSpec) -> Any:
        """Lambda's DeadLetterQueue for async invocations: the event, with the error as attributes."""
        queue = self.topology.queues.get(spec.dead_letter_queue_logical_id or "")

        def send(event: Any, error: FunctionError) -> None:
            if queue is None:
                return
            self.clients["sqs"].send_message(QueueUrl=queue.url, MessageBody=json.dumps(event), MessageAttributes={
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error.message[:256] or error.error_type}})
        return send


def _instances(spec: FunctionSpec) -> int:
    """Concurrency limit of a function's pool: the sum of its SQS mappings' MaximumConcurrency, else 4."""
    sqs = [e.maximum_concurrency or 2 for e in spec.events if isinstance(e, SqsSource)]
    return sum(sqs) if sqs else 4
