"""A worker killed between the vendor write and the store write.

`CrashingBilling` wraps the real billing gateway: after a write the vendor ACCEPTED, it sometimes
raises `WorkerKilled`, a BaseException, as a SIGKILL would end a Lambda: the consumer's `except
Exception` does not see it, nothing is saved, no batch answer is given, and SQS redelivers the
whole batch once the visibility timeout ends. The vendor keeps what it did; concord must not do
it twice.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

WRITES = frozenset(
    {
        "create_account",
        "update_account",
        "ensure_product",
        "create_price",
        "retire_price",
        "create_subscription",
        "amend_subscription",
        "cancel_subscription",
        "suspend_subscription",
        "resume_subscription",
    }
)


class WorkerKilled(BaseException):
    """The process died: not an error any handler may catch."""


class CrashingBilling:
    def __init__(self, inner: Any, rate: float, rng: random.Random) -> None:
        self.inner, self.rate, self.rng = inner, rate, rng
        self.vendor = inner.vendor
        self.crashes: Counter[str] = Counter()
        self.armed = True
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if name not in WRITES:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)  # the vendor has done it ...
            with self._lock:
                crash = self.armed and self.rng.random() < self.rate
                if crash:
                    self.crashes[name] += 1
            if crash:
                raise WorkerKilled(f"killed after {name}")  # ... and concord never records it
            return result

        return write
