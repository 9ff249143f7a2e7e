"""Scheduled reconciliation (daily): reports drift; repairs when the schedule's input says {"repair": true}."""

from __future__ import annotations

import uuid
from typing import Any

from entrypoints.lambdas._runtime import container


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from application.consistency import reconcile_accounts

    repair = bool(event.get("repair")) if isinstance(event, dict) else False
    report = reconcile_accounts(container().services(), repair=repair,
                                correlation_id=f"reconcile-{uuid.uuid4()}")
    return report.as_dict()
