"""ConnectionStore on moto's DynamoDB, ApiGatewayNotifier over real HTTP.

moto's `@connections` API accepts a post to ANY connection id and never answers 410, so the gone,
throttled and forbidden cases run against a small local stand-in of the management API that answers
the way API Gateway does (status + `x-amzn-ErrorType`), read by a real boto3 client.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from adapters.aws.websocket import ApiGatewayNotifier, ConnectionStore
from application.errors import PermanentError, RetryableError

TABLE = "concord-it-connections"


@pytest.fixture
def table(moto_reset: None, moto_endpoint: str) -> Any:
    ddb = boto3.resource("dynamodb")
    return ddb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "room", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-room",
                "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [
                    {"AttributeName": "room", "KeyType": "HASH"},
                    {"AttributeName": "pk", "KeyType": "RANGE"},
                ],
            }
        ],
    )


class ManagementApi(BaseHTTPRequestHandler):
    """POST /@connections/{id}: 200, or the error API Gateway gives for that id's prefix."""

    posts: list[tuple[str, bytes]] = []
    ERRORS = {
        "gone": (410, "GoneException"),
        "busy": (429, "LimitExceededException"),
        "forbidden": (403, "ForbiddenException"),
    }

    def do_POST(self) -> None:
        connection_id = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, error = self.ERRORS.get(connection_id.split("-")[0], (200, ""))
        if status == 200:
            self.posts.append((connection_id, body))
        payload = json.dumps({"message": error} if error else {}).encode()
        self.send_response(status)
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def management_url() -> Iterator[str]:
    ManagementApi.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ManagementApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def notifier_for(url: str, store: ConnectionStore) -> ApiGatewayNotifier:
    # The retries botocore would make on 429 are not what is under test here.
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1, "mode": "standard"})
    return ApiGatewayNotifier(
        lambda: boto3.client("apigatewaymanagementapi", endpoint_url=url, config=config), store
    )


def test_connections_are_listed_by_room_and_expired_ones_are_not(table: Any) -> None:
    now = [1_000_000.0]
    store = ConnectionStore(table, ttl_s=7200, clock=lambda: now[0])
    store.put("c-1", "team-a", subject="ana")
    store.put("c-2", "team-a")
    store.put("c-3", "team-b")
    assert sorted(store.list_room("team-a")) == ["c-1", "c-2"] and store.list_room("team-b") == ["c-3"]
    store.delete("c-2")
    assert store.list_room("team-a") == ["c-1"]
    now[0] += 7201  # $disconnect never came; DynamoDB's TTL sweep has not run yet
    assert store.list_room("team-a") == []


def test_notify_posts_to_every_connection_of_the_room_and_deletes_the_gone_ones(
    table: Any, management_url: str
) -> None:
    store = ConnectionStore(table)
    for connection_id, room in (
        ("live-1", "team-a"),
        ("gone-1", "team-a"),
        ("live-2", "team-a"),
        ("live-3", "team-b"),
    ):
        store.put(connection_id, room)
    delivered = notifier_for(management_url, store).notify(
        "team-a", {"event": "Order.Activated", "id": "o-1"}
    )
    assert delivered == 2
    assert sorted(c for c, _ in ManagementApi.posts) == ["live-1", "live-2"]
    assert json.loads(ManagementApi.posts[0][1]) == {"event": "Order.Activated", "id": "o-1"}
    assert sorted(store.list_room("team-a")) == ["live-1", "live-2"]  # gone-1 deleted


def test_a_throttled_connection_makes_the_notification_retryable_after_all_were_tried(
    table: Any, management_url: str
) -> None:
    store = ConnectionStore(table)
    for connection_id in ("busy-1", "live-1", "forbidden-1"):
        store.put(connection_id, "team-a")
    with pytest.raises(RetryableError) as info:
        notifier_for(management_url, store).notify("team-a", {"n": 1})
    assert "1 connection(s)" in str(info.value) and [c for c, _ in ManagementApi.posts] == ["live-1"]
    assert sorted(store.list_room("team-a")) == ["busy-1", "forbidden-1", "live-1"]  # none deleted


def test_a_message_too_big_for_a_websocket_is_refused_by_field(table: Any, management_url: str) -> None:
    with pytest.raises(PermanentError) as info:
        notifier_for(management_url, ConnectionStore(table)).notify("team-a", {"pad": "x" * 140_000})
    assert info.value.field == "message"


def test_notify_through_motos_management_api(table: Any, moto_endpoint: str) -> None:
    store = ConnectionStore(table)
    store.put("abc=", "team-a")
    notifier = ApiGatewayNotifier(lambda: boto3.client("apigatewaymanagementapi"), store)
    assert notifier.notify("team-a", {"hello": "world"}) == 1
    assert notifier.notify("empty-room", {"hello": "world"}) == 0
