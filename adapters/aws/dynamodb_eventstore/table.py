"""The DynamoDB table: the only module that calls boto3, and where botocore errors become the library's.

Recorders see eventsourcing's exception classes (OperationalError, ProgrammingError, DataError) and two
adapter-internal signals, ConditionFailed and TransactionCancelled, which they turn into
IntegrityError or a retry because only they know what each condition meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from eventsourcing.persistence import DataError, OperationalError, PersistenceError, ProgrammingError

from .items import PK, SK

Item = dict[str, Any]

_NOT_FOUND = "ResourceNotFoundException"
_IN_USE = "ResourceInUseException"


class ConditionFailed(Exception):
    """A single-item write's ConditionExpression was false."""


class TransactionCancelled(Exception):
    """TransactWriteItems was cancelled; `reasons` has one entry per action, in action order."""

    def __init__(self, reasons: Sequence[Mapping[str, Any]]) -> None:
        super().__init__([reason.get("Code") for reason in reasons])
        self.reasons = reasons


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _cancellation_reasons(exc: ClientError) -> list[Mapping[str, Any]]:
    """The per-action reasons. botocore parses them from the error body; should a response lack
    them, the codes are still listed in the message ("... reasons [ConditionalCheckFailed, None]")."""
    reasons: list[Mapping[str, Any]] | None = exc.response.get("CancellationReasons")
    if reasons:
        return reasons
    listed = re.search(r"\[([^\]]*)\]\s*$", str(exc.response.get("Error", {}).get("Message", "")))
    return [{"Code": code.strip()} for code in listed.group(1).split(",")] if listed else []


def translate(exc: ClientError | BotoCoreError, table_name: str) -> PersistenceError:
    """Map a botocore error to the eventsourcing exception a caller of a recorder expects."""
    if isinstance(exc, BotoCoreError):  # connection refused, timeouts: nothing reached the table
        return OperationalError(f"DynamoDB unreachable: {exc}")
    code = _code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if code == _NOT_FOUND:
        return ProgrammingError(
            f"DynamoDB table {table_name!r} not found: deploy it, or set CREATE_TABLE=yes ({message})"
        )
    if code == "ValidationException":
        if "size" in message.lower():  # "Item size has exceeded the maximum allowed size"
            return DataError(f"DynamoDB rejected the data: {message}")
        return ProgrammingError(f"DynamoDB rejected the request: {message}")
    return OperationalError(f"DynamoDB {code}: {message}")


class DynamoDBTable:
    """One table (pk: S, sk: N) and the client that reaches it. Thread-safe: boto3 clients are."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    def create_if_missing(self) -> None:
        """Create the table on demand (CREATE_TABLE), as infrastructure/template.yaml declares it."""
        if self._exists():
            return
        try:
            self.client.create_table(
                TableName=self.name,
                KeySchema=[
                    {"AttributeName": PK, "KeyType": "HASH"},
                    {"AttributeName": SK, "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": PK, "AttributeType": "S"},
                    {"AttributeName": SK, "AttributeType": "N"},
                ],
                BillingMode="PAY_PER_REQUEST",
                # The outbox relay (DESIGN §2.4) reads the notification-log items from the stream.
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
            )
            self.client.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 1})
        except ClientError as exc:
            if _code(exc) != _IN_USE:  # another process is creating it: it will be there
                raise translate(exc, self.name) from exc
        except BotoCoreError as exc:
            raise translate(exc, self.name) from exc

    def _exists(self) -> bool:
        try:
            self.client.describe_table(TableName=self.name)
        except ClientError as exc:
            if _code(exc) == _NOT_FOUND:
                return False
            raise translate(exc, self.name) from exc
        except BotoCoreError as exc:
            raise translate(exc, self.name) from exc
        return True

    def get(self, key: Item) -> Item | None:
        """Strongly consistent GetItem: counters and heads must never be read stale."""
        try:
            response = self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, self.name) from exc
        item: Item | None = response.get("Item")
        return item

    def update(self, **request: Any) -> None:
        """UpdateItem; raises ConditionFailed when its ConditionExpression was false."""
        try:
            self.client.update_item(TableName=self.name, **request)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise ConditionFailed from exc
            raise translate(exc, self.name) from exc
        except BotoCoreError as exc:
            raise translate(exc, self.name) from exc

    def query(self, **request: Any) -> Iterator[Item]:
        """Strongly consistent Query, following LastEvaluatedKey lazily (stop iterating to stop paging)."""
        request = {"TableName": self.name, "ConsistentRead": True, **request}
        while True:
            try:
                response = self.client.query(**request)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, self.name) from exc
            yield from response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def transact(self, actions: list[Item]) -> None:
        """TransactWriteItems; raises TransactionCancelled with the per-action CancellationReasons.

        botocore fills ClientRequestToken once per call and reuses it on its own retries, so a retry
        after a lost response is idempotent instead of failing on our own just-written conditions.
        """
        for action in actions:
            next(iter(action.values()))["TableName"] = self.name
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if _code(exc) == "TransactionCanceledException":
                raise TransactionCancelled(_cancellation_reasons(exc)) from exc
            raise translate(exc, self.name) from exc
        except BotoCoreError as exc:
            raise translate(exc, self.name) from exc
