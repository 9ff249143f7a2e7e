"""Scheduled reconciliation (daily): reports drift; repairs when the schedule's input says {"repair": true}.

The input may name one entity, {"entity": "account" | "order" | "product"}; without one every entity
runs, products first, then accounts, then orders (each needs the one before). Each run is recorded
(`concord status` shows the last of each).
"""

from __future__ import annotations

import uuid
from typing import Any

from entrypoints.lambdas._runtime import container


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from application.consistency import reconcile

    given = event if isinstance(event, dict) else {}
    entity = str(given.get("entity") or "all")
    reports = reconcile(container().services(), entity, repair=bool(given.get("repair")),
                        correlation_id=f"reconcile-{uuid.uuid4()}")
    return {report.entity: report.as_dict() for report in reports}
