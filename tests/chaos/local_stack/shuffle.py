"""Order shuffled: Salesforce's relay events reach the bus out of commit order.

The sandbox's relay sends in commit order, one at a time; this sink holds what arrives for up to
`window_s`, then puts it on the bus (moto's PutEvents) in a random order. It wraps the sink the
stack gave the Salesforce sandbox, in this process; nothing of the stack changes.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

Envelope = dict[str, Any]


class ShufflingSink:
    def __init__(self, inner: Callable[[Envelope], None], rng: random.Random, window_s: float = 0.5) -> None:
        self.inner, self.rng, self.window_s = inner, rng, window_s
        self.sent = self.moved = self.errors = 0
        self._held: list[Envelope] = []
        self._cond = threading.Condition()
        self._sending = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="chaos-shuffle", daemon=True)
        self._thread.start()

    def __call__(self, envelope: Envelope) -> None:
        with self._cond:
            self._held.append(envelope)
            self._cond.notify()

    def idle(self) -> bool:
        with self._cond:
            return not self._held and not self._sending

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._held and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
            self._stop_wait()
            with self._cond:
                batch, self._held = self._held, []
                self._sending = True
            order = list(range(len(batch)))
            self.rng.shuffle(order)
            self.moved += sum(position != index for position, index in enumerate(order))
            for index in order:
                try:
                    self.inner(batch[index])
                    self.sent += 1
                except Exception:  # as the relay: counted, not retried here
                    self.errors += 1
            with self._cond:
                self._sending = False

    def _stop_wait(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._stop, timeout=self.window_s)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(5)
