"""Access manager: EventBridge Scheduler (every 15 min) or on demand {"system": s, "reason": "401"}.

The only writer of tokens (DESIGN §2.5). A revoked credential fails the invocation after the
other systems were refreshed, so the function's error alarm fires; it is not retried in a loop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from entrypoints.lambdas._runtime import container

SYSTEMS = ("salesforce", "zuora", "stripe")


class _Clock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from application.access import refresh_tokens

    built = container()
    settings = built.settings()
    system = event.get("system") if isinstance(event, dict) else None
    systems = [system] if isinstance(system, str) and system in SYSTEMS else list(SYSTEMS)
    report = refresh_tokens(systems, built.minters(), built.token_writer(), _Clock(),
                            settings.token_refresh_margin_s, force=event.get("reason") == "401")
    result = {"refreshed": report.refreshed, "still_fresh": report.still_fresh, "failed": report.failed,
              "revoked": report.revoked}
    if report.revoked:
        raise RuntimeError(f"credentials revoked for {sorted(report.revoked)}: set new ones with "
                           "`concord credentials rotate <system>`")
    return result
