"""Handlers the local runtime tests run in worker processes (imported there by module path)."""

from __future__ import annotations

import json
import os
import time
from typing import Any


def _record(event: Any) -> None:
    path = os.environ.get("RECORD_PATH")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(event) + "\n")


def partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports every record whose body starts with "fail" as a batch item failure."""
    _record([r["body"] for r in event["Records"]])
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]
                                  if r["body"].startswith("fail")]}


def always_fail(event: dict[str, Any], context: Any) -> dict[str, Any]:
    _record([r["body"] for r in event["Records"]])
    raise RuntimeError("this function always fails")


def stream_partial(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails the record whose NewImage pk is "bad"; records each batch's pks."""
    pks = [r["dynamodb"]["NewImage"]["pk"]["S"] for r in event["Records"]]
    _record(pks)
    bad = [
        r["dynamodb"]["SequenceNumber"]
        for r in event["Records"]
        if r["dynamodb"]["NewImage"]["pk"]["S"] == "bad"
    ]
    return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answers what it saw: its environment marker and, for HTTP, the request."""
    _record(event)
    return {
        "statusCode": 201,
        "headers": {"x-marker": os.environ.get("MARKER", "")},
        "body": json.dumps(
            {
                "marker": os.environ.get("MARKER"),
                "event": event,
                "remaining_ms": context.get_remaining_time_in_millis(),
            }
        ),
    }


def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = (event.get("queryStringParameters") or {}).get("token")
    return {"statusCode": 200} if token == "good" else {"statusCode": 401, "body": "refused"}


def sleepy(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time.sleep(float(event.get("seconds", 5)))
    return {}


def timed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Holds each batch for a while and records when it ran (start, end)."""
    started = time.time()
    time.sleep(1.0)
    _record([started, time.time()])
    return {"batchItemFailures": []}
