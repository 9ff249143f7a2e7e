"""The idempotency table: eventId -> the first answer, and delivered (event, destination) pairs.

Items (partition key `id`, TTL attribute `expiration`, as Powertools' idempotency layer):
    <key>               {status: INPROGRESS|COMPLETED, expiration, in_progress_expiration, data}
    delivery#<e>#<d>    {status: COMPLETED, expiration}

begin() is one conditional PutItem. Timeline of two requests with the same eventId:

    A: put INPROGRESS (ok) ---- publish ---- put COMPLETED(response)
    B:        put -> ConditionalCheckFailed, old item INPROGRESS  -> 409 "in progress"
    C:                                                   put -> failed, old COMPLETED -> the stored answer
    D (A crashed before COMPLETED): put after in_progress_expiration -> ok, D publishes

DynamoDB deletes expired items lazily (up to days late), so the condition compares the expiry
times itself and never relies on TTL deletion.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from adapters.aws.gateway_tables._dynamo import KEY, TTL_ATTRIBUTE, from_item, get, to_item
from adapters.aws.lease import AwsFailure, aws_error, error_code
from application.gateway import IdempotencyInProgress, StoredResponse

SYSTEM = "dynamodb:idempotency"
IN_PROGRESS, COMPLETED = "INPROGRESS", "COMPLETED"
# Stripe retries a webhook for up to 3 days: remember every answer a little longer than that.
DEFAULT_TTL_S = 4 * 24 * 3600
# Longer than the gateway can run (API Gateway gives up after 30 s), so a live request keeps its claim.
DEFAULT_IN_PROGRESS_S = 60


class IdempotencyTable:
    """EventIdempotency (the gateway) and DeliveryLedger (deliveries) over one DynamoDB table."""

    def __init__(self, client: Any, table_name: str, *, ttl_s: int = DEFAULT_TTL_S,
                 in_progress_s: int = DEFAULT_IN_PROGRESS_S, clock: Callable[[], float] = time.time) -> None:
        self._client, self._table = client, table_name
        self._ttl_s, self._in_progress_s, self._clock = ttl_s, in_progress_s, clock

    def begin(self, key: str) -> StoredResponse | None:
        now = int(self._clock())
        item = to_item({KEY: key, "status": IN_PROGRESS, TTL_ATTRIBUTE: now + self._ttl_s,
                        "in_progress_expiration": now + self._in_progress_s})
        try:
            self._client.put_item(
                TableName=self._table, Item=item,
                ConditionExpression="attribute_not_exists(#id) OR #exp < :now OR "
                                    "(#status = :in_progress AND #ipe < :now)",
                ExpressionAttributeNames={"#id": KEY, "#exp": TTL_ATTRIBUTE, "#status": "status",
                                          "#ipe": "in_progress_expiration"},
                ExpressionAttributeValues=to_item({":now": now, ":in_progress": IN_PROGRESS}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD")
        except AwsFailure as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise aws_error(exc, system=SYSTEM, action="PutItem") from exc
            return self._existing(key, getattr(exc, "response", {}).get("Item"))
        return None

    def complete(self, key: str, response: StoredResponse) -> None:
        now = int(self._clock())
        data = json.dumps({"status": response.status, "body": dict(response.body)}, separators=(",", ":"))
        self._put({KEY: key, "status": COMPLETED, TTL_ATTRIBUTE: now + self._ttl_s, "data": data})

    def release(self, key: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key={KEY: {"S": key}},
                                     ConditionExpression="#status = :in_progress",
                                     ExpressionAttributeNames={"#status": "status"},
                                     ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}})
        except AwsFailure as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # already completed: keep it
                raise aws_error(exc, system=SYSTEM, action="DeleteItem") from exc

    def delivered(self, event_id: str, destination_id: str) -> bool:
        item = get(self._client, self._table, f"delivery#{event_id}#{destination_id}", system=SYSTEM)
        return item is not None and int(item.get(TTL_ATTRIBUTE, 0)) > self._clock()

    def mark_delivered(self, event_id: str, destination_id: str) -> None:
        self._put({KEY: f"delivery#{event_id}#{destination_id}", "status": COMPLETED,
                   TTL_ATTRIBUTE: int(self._clock()) + self._ttl_s})

    def _existing(self, key: str, old: dict[str, Any] | None) -> StoredResponse:
        # ALL_OLD comes with the failure on DynamoDB; read the item when an emulator leaves it out.
        record = from_item(old) if old else get(self._client, self._table, key, system=SYSTEM)
        if record is None or record.get("status") != COMPLETED:
            raise IdempotencyInProgress(key)
        stored = json.loads(str(record["data"]))
        return StoredResponse(int(stored["status"]), stored["body"])

    def _put(self, values: dict[str, Any]) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=to_item(values))
        except AwsFailure as exc:
            raise aws_error(exc, system=SYSTEM, action="PutItem") from exc
