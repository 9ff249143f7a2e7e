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
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from infrastructure.local.environment import LocalAws, function_environment
from infrastructure.local.extension import ExtensionServer
from infrastructure.local.functions import LocalFunction
from infrastructure.local.http_api import HttpApi
from infrastructure.local.lambda_api import LambdaApi
from infrastructure.local.triggers import Triggers
from infrastructure.local.websocket_api import WebSocketApi
from infrastructure.provision.model import FunctionSpec, SqsSource, Topology

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
        ttl = float(next(iter(topology.functions.values())).environment.get("SSM_PARAMETER_STORE_TTL", 300))
        self.extension = ExtensionServer(
            self.clients["ssm"], self.clients["secretsmanager"], self.session_token, ttl_s=ttl
        )
        self.websocket = WebSocketApi(None, None, stage=topology.stage)
        self.lambda_api = LambdaApi(lambda: self.functions)
        self.triggers = Triggers(topology, self.clients, aws.region, self.websocket, idle_s=idle_s,
                                 schedule_speedup=schedule_speedup)
        self.http: HttpApi | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Endpoints:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        extension_url = self.extension.start()
        local = {
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.extension.port),
            "CONCORD_WEBSOCKET_MANAGEMENT_URL": self.websocket.management.url,
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.start(),
            **self.overrides,
        }
        self._build_functions(local)
        for spec in self.topology.functions.values():
            if spec.logical_id in self.functions:
                self.triggers.wire(spec, self.functions[spec.logical_id])
        self.http = HttpApi(self.triggers.routes, port=self.http_port)
        self.http.start()
        self.websocket.start()
        self.triggers.start()
        return Endpoints(self.http.url, self.websocket.url, self.websocket.management.url, extension_url)

    def _build_functions(self, local: Mapping[str, str]) -> None:
        for spec in self.topology.functions.values():
            if not handler_exists(spec.handler):
                self.missing[spec.logical_id] = spec.handler
                logger.warning("%s: handler %s does not exist; its triggers are not started", spec.logical_id,
                               spec.handler)
                continue
            environment = function_environment(spec, self.aws, session_token=self.session_token, local=local)
            self.functions[spec.logical_id] = LocalFunction(spec.name, spec.handler, environment,
                                                            timeout_s=spec.timeout_s, log_dir=self.log_dir,
                                                            max_instances=_instances(spec))

    def stop(self) -> None:
        self.triggers.stop()
        if self.http is not None:
            self.http.stop()
        self.websocket.stop()
        self.extension.stop()
        self.lambda_api.stop()
        for function in self.functions.values():
            function.stop()

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self.functions[logical_id].invoke(event)


def _instances(spec: FunctionSpec) -> int:
    """Concurrency limit of a function's pool: the sum of its SQS mappings' MaximumConcurrency, else 4."""
    sqs = [e.maximum_concurrency or 2 for e in spec.events if isinstance(e, SqsSource)]
    return sum(sqs) if sqs else 4
