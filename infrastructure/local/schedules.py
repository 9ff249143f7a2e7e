"""EventBridge Scheduler, played locally: moto stores no schedule it could fire, so the runtime does.

Only `rate(N unit)` expressions (what the template uses); a `cron(...)` or `at(...)` schedule is reported
and skipped. A schedule invokes its function asynchronously with the target's Input; Lambda retries a
failed async invocation twice and then sends the event to the function's DeadLetterQueue.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("concord.local.schedules")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of a rate() expression; None for an expression the runtime cannot play."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return int(match.group(1)) * _UNIT_S[match.group(2).rstrip("s")]


class Schedule:
    """Fires `fire(input)` every `interval_s` (scaled by `speedup` for tests) until stopped."""

    def __init__(self, name: str, expression: str, payload: Any, fire: Callable[[Any], None], *,
                 speedup: float = 1.0) -> None:
        self.name, self.expression, self.payload, self._fire = name, expression, payload, fire
        seconds = rate_seconds(expression)
        self.interval_s = None if seconds is None else seconds / speedup
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"schedule-{name}", daemon=True)

    def start(self) -> None:
        if self.interval_s is None:
            logger.warning("schedule %s (%s) is not a rate() expression: not played locally",
                           self.name, self.expression)
            return
        self._thread.start()

    def fire_now(self) -> None:
        self.runs += 1
        self._fire(self.payload)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)

    def _loop(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            self.fire_now()
