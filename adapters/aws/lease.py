"""A DynamoDB lease: one holder across every Lambda instance (DESIGN §2.5: one instance refreshes a token).

Acquire is a conditional PutItem that succeeds when no lease exists or the existing one has expired;
release is a conditional DeleteItem that only the owner can perform. A holder that crashes never
releases: its lease simply expires after `ttl_s`, and the next caller takes over.

    holder A: put(owner=A, expires=t0+ttl) ok ........ crash
    holder B:        put -> ConditionalCheckFailed (A's lease is live)  ...  put after t0+ttl -> ok

The table's TTL attribute is `expires_at` (epoch seconds), but DynamoDB deletes expired items lazily
(up to days later), so the condition checks the expiry itself and never relies on TTL deletion.

`aws_error` also lives here: the one translation of botocore failures into application.errors that the
adapters/aws modules share, so none of them lets a botocore exception escape.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

# botocore.exceptions alone costs ~15 ms at import; boto3 itself (~230 ms) is never imported here.
from botocore.exceptions import BotoCoreError, ClientError

from application.errors import IntegrationError, PermanentError, RetryableError

# botocore retries these itself (standard mode); when one still surfaces, retry later, never drop.
_RETRYABLE_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException", "RequestThrottled", "InternalFailure", "InternalServerError",
    "InternalError", "ServiceUnavailable", "ServiceUnavailableException", "TransactionConflictException",
    "LimitExceededException", "KMSThrottlingException",
})


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


AwsFailure = (ClientError, BotoCoreError)


def aws_error(exc: Exception, *, system: str, action: str) -> IntegrationError:
    """Classify a botocore failure: throttling, 5xx and transport failures are retryable; others are not."""
    code = error_code(exc)
    response = getattr(exc, "response", None)
    metadata = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
    status = metadata.get("HTTPStatusCode", 0)
    message = f"{system} {action} failed: {code or type(exc).__name__}"
    if not code or code in _RETRYABLE_CODES or int(status) >= 500:
        # No code at all: a transport failure (EndpointConnectionError, ReadTimeout...), try again later.
        return RetryableError(message, system=system, code=code or "TRANSPORT")
    return PermanentError(message, system=system, code=code)


class Lease:
    """Named leases in one DynamoDB table (partition key `key_attr`, string)."""

    def __init__(self, dynamodb_client: Any, table_name: str, *, owner: str | None = None,
                 ttl_s: float = 30.0, key_attr: str = "pk", clock: Callable[[], float] = time.time) -> None:
        self._client = dynamodb_client
        self._table = table_name
        self.owner = owner or uuid.uuid4().hex
        self._ttl_s = ttl_s
        self._key_attr = key_attr
        self._clock = clock

    def acquire(self, name: str) -> bool:
        """Take the lease if it is free or expired; False if someone else holds it."""
        now = self._clock()
        try:
            self._client.put_item(
                TableName=self._table,
                Item={self._key_attr: {"S": name}, "owner": {"S": self.owner},
                      "expires_at": {"N": str(int(now + self._ttl_s) + 1)}},
                ConditionExpression="attribute_not_exists(#k) OR expires_at < :now OR #o = :me",
                ExpressionAttributeNames={"#k": self._key_attr, "#o": "owner"},
                ExpressionAttributeValues={":now": {"N": str(int(now))}, ":me": {"S": self.owner}},
            )
        except AwsFailure as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise aws_error(exc, system="dynamodb", action="lease acquire") from exc
        return True

    def release(self, name: str) -> None:
        """Give the lease up; a no-op if it already expired and someone else took it."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={self._key_attr: {"S": name}},
                ConditionExpression="#o = :me",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":me": {"S": self.owner}},
            )
        except AwsFailure as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return
            raise aws_error(exc, system="dynamodb", action="lease release") from exc

    def holder(self, name: str) -> str | None:
        """The current live owner, if any (diagnostics and tests)."""
        try:
            item = self._client.get_item(TableName=self._table, Key={self._key_attr: {"S": name}},
                                         ConsistentRead=True).get("Item")
        except AwsFailure as exc:
            raise aws_error(exc, system="dynamodb", action="lease read") from exc
        if not item or int(item["expires_at"]["N"]) < self._clock():
            return None
        return str(item["owner"]["S"])
