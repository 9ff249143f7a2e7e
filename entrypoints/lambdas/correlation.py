"""Correlation service: external systems telling us their ids for our entities (SQS)."""

from __future__ import annotations

from typing import Any

from entrypoints.lambdas._runtime import sqs_batch
from entrypoints.lambdas._translate import link_commands


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return sqs_batch(event, link_commands)
