"""The event sources of the local functions, as the topology declares them: SQS mappings, the stream
mapping, schedules, HTTP API routes and WebSocket routes (what Lambda's triggers and API Gateway do)."""

from __future__ import annotations

import json
from typing import Any

from infrastructure.local.functions import FunctionError, LocalFunction
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


class Triggers:
    def __init__(self, topology: Topology, clients: dict[str, Any], region: str, websocket: WebSocketApi, *,
                 idle_s: float, schedule_speedup: float) -> None:
        self.topology, self.clients, self.region, self.websocket = topology, clients, region, websocket
        self.idle_s, self.schedule_speedup = idle_s, schedule_speedup
        self.sqs: dict[str, SqsEventSource] = {}
        self.streams: dict[str, StreamEventSource] = {}
        self.schedules: dict[str, Schedule] = {}
        self.routes: dict[tuple[str, str], LocalFunction] = {}

    def wire(self, spec: FunctionSpec, function: LocalFunction) -> None:
        for index, source in enumerate(spec.events):
            key = f"{spec.logical_id}:{index}"
            if isinstance(source, SqsSource):
                self.sqs[key] = self._sqs(source, function)
            elif isinstance(source, StreamSource):
                self.streams[key] = self._stream(source, function)
            elif isinstance(source, ScheduleSource):
                self.schedules[source.name] = self._schedule(source, spec, function)
            elif isinstance(source, HttpRoute):
                self.routes[(source.method, source.path)] = function
            elif isinstance(source, WebSocketRoute):
                route = "connect" if source.route_key == "$connect" else "disconnect"
                setattr(self.websocket, route, function)

    def start(self) -> None:
        for source in [*self.sqs.values(), *self.streams.values(), *self.schedules.values()]:
            source.start()

    def stop(self) -> None:
        for source in [*self.schedules.values(), *self.sqs.values(), *self.streams.values()]:
            source.stop()

    def _sqs(self, source: SqsSource, function: LocalFunction) -> SqsEventSource:
        queue = self.topology.queues[source.queue_logical_id]
        # No MaximumConcurrency: Lambda would scale out; locally two batches at a time.
        return SqsEventSource(self.clients["sqs"], function, queue_url=queue.url, queue_arn=queue.arn,
                              region=self.region, batch_size=source.batch_size,
                              maximum_concurrency=source.maximum_concurrency or 2,
                              report_batch_item_failures=source.report_batch_item_failures,
                              idle_s=self.idle_s)

    def _stream(self, source: StreamSource, function: LocalFunction) -> StreamEventSource:
        target = source.on_failure_queue_logical_id
        url = self.topology.queues[target].url if target else None

        def on_failure(record: dict[str, Any]) -> None:
            if url:
                self.clients["sqs"].send_message(QueueUrl=url, MessageBody=json.dumps(record))

        return StreamEventSource(self.clients["dynamodbstreams"], function, stream_arn=source.stream_arn,
                                 region=self.region, batch_size=source.batch_size,
                                 starting_position=source.starting_position,
                                 report_batch_item_failures=source.report_batch_item_failures,
                                 on_failure=on_failure, idle_s=self.idle_s)

    def _schedule(self, source: ScheduleSource, spec: FunctionSpec, function: LocalFunction) -> Schedule:
        dead_letter = self._dead_letter(spec)
        return Schedule(source.name, source.expression, source.input or {},
                        lambda payload: function.invoke_async(payload, on_failure=dead_letter),
                        speedup=self.schedule_speedup)

    def _dead_letter(self, spec: FunctionSpec) -> Any:
        """Lambda's DeadLetterQueue for async invocations: the event, with the error as attributes."""
        queue = self.topology.queues.get(spec.dead_letter_queue_logical_id or "")

        def send(event: Any, error: FunctionError) -> None:
            if queue is None:
                return
            message = error.message[:256] or error.error_type
            attributes = {"ErrorCode": {"DataType": "Number", "StringValue": "200"},
                          "ErrorMessage": {"DataType": "String", "StringValue": message}}
            self.clients["sqs"].send_message(QueueUrl=queue.url, MessageBody=json.dumps(event),
                                             MessageAttributes=attributes)
        return send
