"""WebSocket notifications (DESIGN §2.6): the connections table and the Notifier port over `@connections`.

Connections table (infrastructure/template.yaml): `pk` = connection id, `room`, `expires_at` (TTL,
epoch seconds), GSI `by-room` (room, pk). API Gateway closes a WebSocket after 2 hours at most, so a
connection whose `$disconnect` never arrived expires by itself; TTL deletion is lazy, so reads filter
on `expires_at` too.

`ApiGatewayNotifier.notify` posts to every live connection of a room through the management API; a
connection that answers 410 GoneException is deleted. Throttling or a 5xx on some connection raises
RetryableError once every connection was tried (the notification is retried; clients dedupe on the
event id inside the message); other refusals are logged and skipped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from adapters.aws.lease import AwsFailure, aws_error, error_code
from application.errors import PermanentError, RetryableError

logger = logging.getLogger("concord.websocket")

MAX_CONNECTION_S = 2 * 3600  # API Gateway's maximum WebSocket connection duration
MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's maximum WebSocket message payload


class ConnectionStore:
    def __init__(self, table: Any, *, index_name: str = "by-room", ttl_s: float = MAX_CONNECTION_S,
                 clock: Callable[[], float] = time.time) -> None:
        self._table = table
        self._index = index_name
        self._ttl_s = ttl_s
        self._clock = clock

    def put(self, connection_id: str, room: str, *, subject: str = "") -> None:
        now = self._clock()
        item = {"pk": connection_id, "room": room, "connected_at": int(now),
                "expires_at": int(now + self._ttl_s)}
        if subject:
            item["subject"] = subject
        self._call("PutItem", self._table.put_item, Item=item)

    def delete(self, connection_id: str) -> None:
        self._call("DeleteItem", self._table.delete_item, Key={"pk": connection_id})

    def list_room(self, room: str) -> list[str]:
        """Live connection ids of a room (paginated query on the room index)."""
        from boto3.dynamodb.conditions import Key  # boto3 only when a room is actually listed

        now = int(self._clock())
        ids: list[str] = []
        kwargs: dict[str, Any] = {"IndexName": self._index, "KeyConditionExpression": Key("room").eq(room)}
        while True:
            page = self._call("Query", self._table.query, **kwargs)
            ids += [str(i["pk"]) for i in page.get("Items", []) if int(i.get("expires_at", now + 1)) > now]
            if "LastEvaluatedKey" not in page:
                return ids
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @staticmethod
    def _call(action: str, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except AwsFailure as exc:
            raise aws_error(exc, system="dynamodb", action=f"connections {action}") from exc


class ApiGatewayNotifier:
    """The Notifier port. `management_client_factory` builds the `apigatewaymanagementapi` client
    (endpoint CONCORD_WEBSOCKET_MANAGEMENT_URL); it is called once, on the first notification."""

    def __init__(self, management_client_factory: Callable[[], Any], store: ConnectionStore) -> None:
        self._factory = management_client_factory
        self._client: Any = None
        self._store = store

    def notify(self, room: str, message: Mapping[str, Any]) -> int:
        data = json.dumps(message, separators=(",", ":"), default=str).encode("utf-8")
        if len(data) > MAX_MESSAGE_BYTES:
            raise PermanentError(f"notification is {len(data)} bytes; a WebSocket message takes "
                                 f"{MAX_MESSAGE_BYTES}", system="apigateway", field="message")
        delivered, retry_later = 0, 0
        for connection_id in self._store.list_room(room):
            outcome = self._post(connection_id, data)
            delivered += outcome == "delivered"
            retry_later += outcome == "retry"
        if retry_later:
            raise RetryableError(f"{retry_later} connection(s) of room {room!r} not reached; "
                                 f"{delivered} were", system="apigateway", code="POST_TO_CONNECTION")
        return delivered

    def _post(self, connection_id: str, data: bytes) -> str:
        if self._client is None:
            self._client = self._factory()
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except AwsFailure as exc:
            if error_code(exc) == "GoneException":  # 410: the client left without a $disconnect
                self._store.delete(connection_id)
                return "gone"
            error = aws_error(exc, system="apigateway", action="PostToConnection")
            logger.warning("post to connection failed", extra={"connection_id": connection_id,
                                                                "code": error.code})
            return "retry" if isinstance(error, RetryableError) else "skipped"
        return "delivered"
