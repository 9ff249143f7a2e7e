"""Pure helpers of the stream mapping: Lambda's JSON for a stream record, the partial batch response,
and the record Lambda sends to an OnFailure destination."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def to_lambda_json(value: Any) -> Any:
    """boto3's decoded stream record -> the JSON Lambda delivers (binary as base64, times as epoch s)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Mapping):
        return {str(k): to_lambda_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_lambda_json(v) for v in value]
    return value


def stream_failures(result: Any, sequence_numbers: list[str]) -> int | None:
    """Index of the first record to retry from a ReportBatchItemFailures response; None: all succeeded.
    An identifier that is missing or not in the batch fails the whole batch (index 0)."""
    failures = result.get("batchItemFailures") if isinstance(result, Mapping) else None
    if not failures:
        return None
    indexes = []
    for failure in failures if isinstance(failures, list) else [None]:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if identifier not in sequence_numbers:
            return 0
        indexes.append(sequence_numbers.index(identifier))
    return min(indexes)


def failure_record(source: Any, shard_id: str, failed: list[dict[str, Any]]) -> dict[str, Any]:
    """What Lambda sends to a stream mapping's OnFailure destination: the batch's coordinates."""
    arrivals = [r["dynamodb"].get("ApproximateCreationDateTime") for r in failed]
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "requestContext": {
            "requestId": "",
            "functionArn": source.function.name,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": source.max_retries + 1,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": stamp,
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": failed[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": failed[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrivals[0],
            "approximateArrivalOfLastRecord": arrivals[-1],
            "batchSize": len(failed),
            "streamArn": source.stream_arn,
        },
    }
