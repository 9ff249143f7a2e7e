"""The DynamoDB event store, judged by eventsourcing's own recorder and application test cases.

Every test runs against moto in server mode over HTTP (tests/support/moto_server.py) with moto reset
first, so each one starts from a missing table that CREATE_TABLE creates.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from botocore.exceptions import ClientError
from eventsourcing.cipher import AESCipher
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    ProcessRecorder,
    ProgrammingError,
    StoredEvent,
    TrackingRecorder,
)
from eventsourcing.tests import application as library_app
from eventsourcing.tests import persistence as library
from eventsourcing.utils import Environment, get_topic

from adapters.aws.dynamodb_eventstore import (
    DynamoDBAggregateRecorder,
    DynamoDBApplicationRecorder,
    DynamoDBFactory,
    DynamoDBProcessRecorder,
    DynamoDBTrackingRecorder,
    SaveTooLargeError,
)
from adapters.aws.dynamodb_eventstore.codec import decode_events, encode_events
from adapters.aws.dynamodb_eventstore.items import log_pk, range_item
from adapters.aws.dynamodb_eventstore.table import _cancellation_reasons

# The library's cases are reached through their modules: a concrete case imported by name into this
# module would be collected and run as it is, without our persistence module.
pytestmark = [pytest.mark.moto, pytest.mark.usefixtures("moto_endpoint", "moto_reset")]

TABLE = "concord-events-test"
MODULE = "adapters.aws.dynamodb_eventstore"


def make_factory(**env: str) -> DynamoDBFactory:
    return DynamoDBFactory(env={"DYNAMODB_TABLE": TABLE, **env})


class FactoryPerTest:
    """Mixin: one factory (one boto3 client) per test, closed afterwards."""

    _factory: DynamoDBFactory | None = None

    def factory_for_test(self) -> DynamoDBFactory:
        if self._factory is None:
            self._factory = make_factory()
        return self._factory

    def tearDown(self) -> None:
        if self._factory is not None:
            self._factory.close()
            self._factory = None
        super().tearDown()  # type: ignore[misc]


# --- the library's recorder suites ---------------------------------------------------------------


class TestAggregateRecorder(FactoryPerTest, library.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory_for_test().aggregate_recorder()


class TestApplicationRecorder(FactoryPerTest, library.ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory_for_test().application_recorder()

    def test_insert_subscribe(self) -> None:
        self.optional_test_insert_subscribe()


class TestTrackingRecorder(FactoryPerTest, library.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory_for_test().tracking_recorder()


class TestProcessRecorder(FactoryPerTest, library.ProcessRecorderTestCase):
    def create_recorder(self) -> ProcessRecorder:
        return self.factory_for_test().process_recorder()


class TestNonInterleavingNotificationIds(FactoryPerTest, library.NonInterleavingNotificationIDsBaseCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory_for_test().application_recorder()


class TrackingRecorderSubclass(DynamoDBTrackingRecorder):
    pass


class TestFactory(library.InfrastructureFactoryTestCase[DynamoDBFactory]):
    def setUp(self) -> None:
        self.env = Environment("TestCase", {"PERSISTENCE_MODULE": MODULE, "DYNAMODB_TABLE": TABLE})
        super().setUp()

    def expected_factory_class(self) -> type[DynamoDBFactory]:
        return DynamoDBFactory

    def expected_aggregate_recorder_class(self) -> type[AggregateRecorder]:
        return DynamoDBAggregateRecorder

    def expected_application_recorder_class(self) -> type[ApplicationRecorder]:
        return DynamoDBApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[TrackingRecorder]:
        return DynamoDBTrackingRecorder

    def tracking_recorder_subclass(self) -> type[TrackingRecorder]:
        return TrackingRecorderSubclass

    def expected_process_recorder_class(self) -> type[ProcessRecorder]:
        return DynamoDBProcessRecorder


# --- the library's example application, plain and with cipher + compression --------------------


class EnvironMixin:
    environ: dict[str, str] = {}

    def setUp(self) -> None:
        self._patch = pytest.MonkeyPatch()
        for name, value in {"PERSISTENCE_MODULE": MODULE, "DYNAMODB_TABLE": TABLE, **self.environ}.items():
            self._patch.setenv(name, value)
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        self._patch.undo()
        super().tearDown()  # type: ignore[misc]


class TestExampleApplication(EnvironMixin, library_app.ExampleApplicationTestCase):
    expected_factory_topic = get_topic(DynamoDBFactory)


class TestExampleApplicationEncryptedAndCompressed(EnvironMixin, library_app.ExampleApplicationTestCase):
    expected_factory_topic = get_topic(DynamoDBFactory)
    environ = {"CIPHER_KEY": AESCipher.create_key(16), "COMPRESSOR_TOPIC": get_topic(ZlibCompressor)}

    def test_events_are_stored_encrypted(self) -> None:
        app = library_app.BankAccounts()
        app.open_account(full_name="Alice", email_address="alice@example.com")
        assert app.factory.cipher() is not None and app.factory.compressor() is not None
        client = app.factory.table.client  # type: ignore[attr-defined]
        items = client.scan(TableName=TABLE)["Items"]
        frames = b"".join(bytes(item["ev"]["B"]) for item in items if "ev" in item)
        assert frames and b"Alice" not in frames and b"alice@example.com" not in frames


# --- what the library's suites do not cover -------------------------------------------------------


@pytest.fixture
def recorder() -> Iterator[DynamoDBApplicationRecorder]:
    factory = make_factory()
    recorder = factory.application_recorder()
    assert isinstance(recorder, DynamoDBApplicationRecorder)
    yield recorder
    factory.close()


def event(originator_id: Any, version: int, state: bytes = b"{}") -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version, topic="t", state=state)


def test_two_writers_on_one_version_exactly_one_wins() -> None:
    # Two recorders: two processes, so no in-process lock serialises them; only DynamoDB decides.
    factories = [make_factory(), make_factory()]
    recorders = [f.application_recorder() for f in factories]
    aggregate_id = uuid4()
    recorders[0].insert_events([event(aggregate_id, 1)])
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def save(recorder: ApplicationRecorder, state: bytes) -> None:
        barrier.wait()
        try:
            recorder.insert_events([event(aggregate_id, 2, state)])
            outcomes.append("won")
        except IntegrityError:
            outcomes.append("conflict")

    threads = [
        threading.Thread(target=save, args=(r, s)) for r, s in zip(recorders, [b"a", b"b"], strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["conflict", "won"]
    assert [e.originator_version for e in recorders[1].select_events(aggregate_id)] == [1, 2]
    assert recorders[1].max_notification_id() == 2
    for factory in factories:
        factory.close()


def test_writers_in_two_processes_share_one_gap_free_log() -> None:
    factories = [make_factory(), make_factory()]
    recorders = [f.application_recorder() for f in factories]

    def save_many(recorder: ApplicationRecorder) -> None:
        for _ in range(15):
            recorder.insert_events([event(uuid4(), 1), event(uuid4(), 1)])

    threads = [threading.Thread(target=save_many, args=(r,)) for r in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    notifications = recorders[0].select_notifications(start=None, limit=100)
    assert [n.id for n in notifications] == list(range(1, 61))
    assert recorders[0].max_notification_id() == 60
    for factory in factories:
        factory.close()


def test_reading_the_log_stops_at_a_save_not_yet_visible(recorder: DynamoDBApplicationRecorder) -> None:
    recorder.insert_events([event(uuid4(), 1), event(uuid4(), 1)])  # ids 1, 2
    # Ids 3-4 still committing while 5 is already readable: write only the log item of 5.
    later = range_item(log_pk(recorder.ns), 5, 5, encode_events([event(uuid4(), 1)]))
    recorder.table.client.put_item(TableName=TABLE, Item=later)
    assert [n.id for n in recorder.select_notifications(start=1, limit=10)] == [1, 2]
    assert recorder.select_notifications(start=3, limit=10) == []


def test_a_save_with_more_than_400_kb_is_refused_before_sending(
    recorder: DynamoDBApplicationRecorder,
) -> None:
    with pytest.raises(SaveTooLargeError, match="409600 bytes per item"):
        recorder.insert_events([event(uuid4(), 1, b"x" * 300_000), event(uuid4(), 1, b"x" * 150_000)])
    assert recorder.max_notification_id() is None


def test_a_save_of_more_than_48_aggregates_is_refused(recorder: DynamoDBApplicationRecorder) -> None:
    recorder.insert_events([event(uuid4(), 1) for _ in range(49)])  # 2 * 49 + 2 = 100 actions
    with pytest.raises(SaveTooLargeError, match="100"):
        recorder.insert_events([event(uuid4(), 1) for _ in range(50)])
    assert recorder.max_notification_id() == 49


def test_an_insert_below_the_last_recorded_version_is_a_conflict(
    recorder: DynamoDBApplicationRecorder,
) -> None:
    aggregate_id = uuid4()
    recorder.insert_events([event(aggregate_id, 1), event(aggregate_id, 3)])
    with pytest.raises(IntegrityError):
        recorder.insert_events([event(aggregate_id, 2)])
    assert recorder.max_notification_id() == 2


def test_string_originator_ids_round_trip(recorder: DynamoDBApplicationRecorder) -> None:
    recorder.insert_events([event("account-1", 1), event("account-1", 2)])
    assert [e.originator_id for e in recorder.select_events("account-1", desc=True)] == ["account-1"] * 2
    assert recorder.select_notifications(start=2, limit=1)[0].originator_id == "account-1"


def test_without_create_table_a_missing_table_is_a_clear_error() -> None:
    factory = make_factory(CREATE_TABLE="no")
    recorder = factory.application_recorder()
    with pytest.raises(ProgrammingError, match="CREATE_TABLE"):
        recorder.max_notification_id()
    factory.close()


def test_the_table_name_is_required() -> None:
    with pytest.raises(OSError, match="DYNAMODB_TABLE"):
        DynamoDBFactory(env={})


def test_cancellation_codes_are_read_from_the_message_when_reasons_are_missing() -> None:
    message = "Transaction cancelled, please refer cancellation reasons [None, ConditionalCheckFailed]"
    body = {"Error": {"Code": "TransactionCanceledException", "Message": message}}
    error = ClientError(body, "TransactWriteItems")
    assert [reason["Code"] for reason in _cancellation_reasons(error)] == ["None", "ConditionalCheckFailed"]


def test_frames_round_trip_uuid_and_str_originators() -> None:
    events = [event(uuid4(), 1, b""), event("order-7", -3, b"\x00\xff" * 100), event(uuid4(), 2**40, b"s")]
    assert decode_events(encode_events(events)) == events


def test_a_lone_writer_makes_one_request_per_save(recorder: DynamoDBApplicationRecorder) -> None:
    recorder.insert_events([event(uuid4(), 1)])  # the first save reads the counter
    calls: list[str] = []
    recorder.table.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    for _ in range(3):
        recorder.insert_events([event(uuid4(), 1), event(uuid4(), 1)])
    assert calls == ["TransactWriteItems"] * 3
    assert recorder.max_notification_id() == 7
