"""Account service: Salesforce AccountChangeEvent and billing account/payment triggers (SQS)."""

from __future__ import annotations

from typing import Any

from entrypoints.lambdas._runtime import sqs_batch
from entrypoints.lambdas._translate import account_commands


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return sqs_batch(event, account_commands)
