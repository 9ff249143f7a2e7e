"""Product service: Salesforce Product2/PricebookEntry changes (SQS)."""

from __future__ import annotations

from typing import Any

from entrypoints.lambdas._runtime import sqs_batch
from entrypoints.lambdas._translate import product_commands


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return sqs_batch(event, product_commands)
