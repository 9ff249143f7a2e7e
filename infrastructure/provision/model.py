"""The typed description of what `provision` created: what the local runtime needs to play the functions.

Everything is keyed by the template's logical ids (e.g. queues["AccountQueue"]), so the runtime never
guesses a physical name. Values are resolved: URLs, ARNs, names, the merged environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QueueInfo:
    logical_id: str
    name: str
    url: str
    arn: str
    visibility_timeout_s: int
    dead_letter_logical_id: str | None = None  # from the RedrivePolicy
    max_receive_count: int | None = None


@dataclass(frozen=True)
class TableInfo:
    logical_id: str
    name: str
    arn: str
    stream_arn: str | None = None
    ttl_attribute: str | None = None
    indexes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleInfo:
    logical_id: str
    name: str
    arn: str
    bus_name: str
    event_pattern: Mapping[str, Any]
    target_arns: tuple[str, ...]


@dataclass(frozen=True)
class SqsSource:
    queue_logical_id: str
    queue_url: str
    batch_size: int
    maximum_concurrency: int | None
    report_batch_item_failures: bool


@dataclass(frozen=True)
class StreamSource:
    table_logical_id: str
    stream_arn: str
    batch_size: int
    starting_position: str
    on_failure_queue_logical_id: str | None
    report_batch_item_failures: bool
    maximum_retry_attempts: int = -1  # Lambda's default for streams: retry until the record expires
    bisect_batch_on_function_error: bool = False


@dataclass(frozen=True)
class ScheduleSource:
    """Recorded only: moto cannot fire EventBridge Scheduler schedules, the local runtime does."""

    name: str
    expression: str
    input: Mapping[str, Any] | None


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str  # "$connect", "$disconnect"


EventSource = SqsSource | StreamSource | ScheduleSource | HttpRoute | WebSocketRoute


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    handler: str  # "module.path.function", as Lambda reads it
    environment: Mapping[str, str]
    timeout_s: int
    events: tuple[EventSource, ...]
    dead_letter_queue_logical_id: str | None  # async invocations (Lambda's DeadLetterQueue)

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


@dataclass(frozen=True)
class Topology:
    region: str
    account_id: str
    stage: str
    bus_name: str
    bus_arn: str
    partner_bus_name: str | None
    kms_key_id: str
    kms_key_arn: str
    kms_alias: str
    queues: Mapping[str, QueueInfo] = field(default_factory=dict)
    tables: Mapping[str, TableInfo] = field(default_factory=dict)
    rules: Mapping[str, RuleInfo] = field(default_factory=dict)
    functions: Mapping[str, FunctionSpec] = field(default_factory=dict)

    def queue_by_arn(self, arn: str) -> QueueInfo:
        for queue in self.queues.values():
            if queue.arn == arn:
                return queue
        raise KeyError(arn)

    def consumers(self, queue_logical_id: str) -> list[FunctionSpec]:
        """The functions an SQS queue feeds."""
        return [
            spec
            for spec in self.functions.values()
            if any(isinstance(e, SqsSource) and e.queue_logical_id == queue_logical_id for e in spec.events)
        ]

    def _sources(self, kind: type[Any]) -> list[tuple[Any, FunctionSpec]]:
        return [(e, spec) for spec in self.functions.values() for e in spec.events if isinstance(e, kind)]

    @property
    def schedules(self) -> list[tuple[ScheduleSource, FunctionSpec]]:
        return self._sources(ScheduleSource)

    @property
    def http_routes(self) -> list[tuple[HttpRoute, FunctionSpec]]:
        return self._sources(HttpRoute)

    @property
    def websocket_routes(self) -> list[tuple[WebSocketRoute, FunctionSpec]]:
        return self._sources(WebSocketRoute)
