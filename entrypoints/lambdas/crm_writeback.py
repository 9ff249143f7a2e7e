"""CRM write-back: sync status onto the record the user changed, from domain events (SQS)."""

from __future__ import annotations

from typing import Any

from entrypoints.lambdas._runtime import sqs_batch
from entrypoints.lambdas._translate import writeback_commands


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return sqs_batch(event, writeback_commands)
