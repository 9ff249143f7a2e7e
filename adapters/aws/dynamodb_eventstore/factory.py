"""The persistence module's factory: PERSISTENCE_MODULE=adapters.aws.dynamodb_eventstore selects it."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    ProcessRecorder,
)
from eventsourcing.utils import Environment, EnvType, resolve_topic, strtobool

from .aggregate import DynamoDBAggregateRecorder
from .application import DynamoDBApplicationRecorder
from .table import DynamoDBTable
from .tracking import DynamoDBProcessRecorder, DynamoDBTrackingRecorder

R = TypeVar("R")
_session: Any = None
_session_lock = threading.Lock()


class DynamoDBFactory(InfrastructureFactory[DynamoDBTrackingRecorder]):
    """Builds recorders on one DynamoDB table, each application under its own key namespace.

    Environment (read through the application's Environment, so "<APP>_DYNAMODB_TABLE" overrides):
    DYNAMODB_TABLE (required), DYNAMODB_ENDPOINT_URL (optional; otherwise boto3 reads its own
    AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB), CREATE_TABLE (default yes), DYNAMODB_POLL_INTERVAL
    (subscriptions, seconds, default 0.5). CIPHER_TOPIC / CIPHER_KEY / COMPRESSOR_TOPIC are the
    library's own and act in the mapper, before events reach a recorder.
    """

    DYNAMODB_TABLE = "DYNAMODB_TABLE"
    DYNAMODB_ENDPOINT_URL = "DYNAMODB_ENDPOINT_URL"
    DYNAMODB_POLL_INTERVAL = "DYNAMODB_POLL_INTERVAL"
    CREATE_TABLE = "CREATE_TABLE"

    aggregate_recorder_class = DynamoDBAggregateRecorder
    application_recorder_class = DynamoDBApplicationRecorder
    tracking_recorder_class = DynamoDBTrackingRecorder
    process_recorder_class = DynamoDBProcessRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        table_name = self.env.get(self.DYNAMODB_TABLE)
        if not table_name:
            keys = ", ".join(self.env.create_keys(self.DYNAMODB_TABLE))
            raise OSError(f"DynamoDB table name not found in environment with keys: {keys}")
        self.table = DynamoDBTable(self._client(), table_name)
        self.prefix = self.env.name.lower() or "stored"
        self._table_checked = False

    def _client(self) -> Any:
        """A client per factory, from one session per process. Sessions are not thread-safe while they
        build clients (hence the lock), but a session caches what botocore loads from disk (endpoint
        rules, the service list): a new session per client paid ~0.2 s on a cold start again."""
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=32,  # the library's concurrency tests run 10 writers and 2 readers
            connect_timeout=5,
        )
        endpoint_url = self.env.get(self.DYNAMODB_ENDPOINT_URL) or None
        global _session
        with _session_lock:
            if _session is None:
                _session = boto3.session.Session()
            return _session.client("dynamodb", endpoint_url=endpoint_url, config=config)

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        return self._ready(self.aggregate_recorder_class(self.table, self.prefix, purpose))

    def application_recorder(self) -> ApplicationRecorder:
        cls = self._class(self.APPLICATION_RECORDER_TOPIC, self.application_recorder_class)
        recorder = cls(self.table, self.prefix)
        recorder.poll_interval = float(self.env.get(self.DYNAMODB_POLL_INTERVAL) or recorder.poll_interval)
        return self._ready(recorder)

    def tracking_recorder(
        self, tracking_recorder_class: type[DynamoDBTrackingRecorder] | None = None
    ) -> DynamoDBTrackingRecorder:
        cls = tracking_recorder_class or self._class(
            self.TRACKING_RECORDER_TOPIC, self.tracking_recorder_class
        )
        return self._ready(cls(self.table, self.prefix))

    def process_recorder(self) -> ProcessRecorder:
        cls = self._class(self.PROCESS_RECORDER_TOPIC, self.process_recorder_class)
        recorder = cls(self.table, self.prefix)
        recorder.poll_interval = float(self.env.get(self.DYNAMODB_POLL_INTERVAL) or recorder.poll_interval)
        return self._ready(recorder)

    def env_create_table(self) -> bool:
        return bool(strtobool(self.env.get(self.CREATE_TABLE) or "yes"))

    def close(self) -> None:
        self.table.client.close()

    def _class(self, topic_key: str, default: type[R]) -> type[R]:
        topic = self.env.get(topic_key)
        cls: type[R] = resolve_topic(topic) if topic else default
        if not issubclass(cls, default):
            raise TypeError(f"{topic_key}={topic!r} is not a subclass of {default.__qualname__}")
        return cls

    def _ready(self, recorder: R) -> R:
        if self.env_create_table() and not self._table_checked:
            self.table.create_if_missing()
            self._table_checked = True
        return recorder


Factory = DynamoDBFactory
