"""Lambda workers over the simulated queues: the real consumer (process_batch) and translation.

Two (or more) workers run at once, as two Lambda instances of one function would, so the handlers'
optimistic concurrency (retry_on_conflict) is exercised too.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from adapters.aws.sqs_batch import process_batch
from application.handlers import handle
from entrypoints.lambdas._translate import account_commands, order_commands, product_commands
from tests.chaos.harness.crash import WorkerKilled
from tests.chaos.harness.queues import SimQueue
from tests.chaos.harness.stack import ChaosStack

TRANSLATE: dict[str, Callable[[Any, Any], Iterable[object]]] = {
    "account": account_commands,
    "order": order_commands,
    "product": product_commands,
}


class Workers:
    def __init__(self, stack: ChaosStack) -> None:
        self.stack = stack
        self.batches = Counter[str]()
        self._lock = threading.Lock()

    def _handler(self, queue: str) -> Callable[[Any], None]:
        services = self.stack.services

        def handle_record(record: Any) -> None:
            for command in TRANSLATE[queue](record, services):
                handle(command, services)

        return handle_record

    def process_one_batch(self, queue: SimQueue) -> bool:
        """False when the queue had nothing visible."""
        batch = queue.receive(10)
        if not batch:
            return False
        with self._lock:
            self.batches[queue.name] += 1
        try:
            answer = process_batch(
                queue.lambda_event(batch),
                self._handler(queue.name),
                dlq=self.stack.dead_letters,
                max_receives=self.stack.config.max_receives,
            )
        except WorkerKilled:
            queue.crashed()  # no answer: every message of the batch stays in flight, then comes back
            return True
        queue.finish(batch, {failure["itemIdentifier"] for failure in answer["batchItemFailures"]})
        return True

    def _work(self) -> None:
        queues = list(self.stack.queues.values())
        while True:
            self.stack.rng.shuffle(queues)  # not thread-safe in theory; the order only needs to vary
            if not any(self.process_one_batch(queue) for queue in queues):
                return

    def pump(self) -> None:
        """Every worker takes batches until no queue has a visible message."""
        threads = [
            threading.Thread(target=self._work, name=f"worker-{n}") for n in range(self.stack.config.workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def settle(self, max_rounds: int = 400) -> int:
        """Run until every queue is empty, moving the logical clock to the next redelivery each time."""
        for rounds in range(max_rounds):
            self.stack.flush_events()
            self.pump()
            self.stack.flush_events()
            pending = [q.next_visible_at() for q in self.stack.queues.values()]
            upcoming = [at for at in pending if at is not None]
            if not upcoming:
                return rounds
            self.stack.clock.advance(max(0.0, min(upcoming) - self.stack.clock.now))
        raise AssertionError(f"queues did not drain in {max_rounds} rounds")
