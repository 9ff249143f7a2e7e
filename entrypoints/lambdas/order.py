"""Order service: Salesforce Order/OrderItem changes and billing subscription triggers (SQS)."""

from __future__ import annotations

from typing import Any

from entrypoints.lambdas._runtime import sqs_batch
from entrypoints.lambdas._translate import order_commands


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return sqs_batch(event, order_commands)
