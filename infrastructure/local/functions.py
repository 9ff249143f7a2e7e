"""LocalFunction: one template function as a pool of execution environments (worker processes).

Why processes: every handler keeps per-instance state in module globals (the container, boto3 clients,
settings read once), and functions differ in environment (CONCORD_DLQ_URL at least). A worker process
per execution environment gives each function its own os.environ and its own globals, exactly as Lambda
does, with no lock around os.environ and no reset_container() between functions; it also lets two
functions run on two cores. A worker is `python -m infrastructure.local.worker` started with exactly
the function's environment (subprocess, not multiprocessing: nothing of the parent's state or
__main__ is carried over); a cold start costs about a second of imports, then the instance stays warm.

An instance serves one invocation at a time; the pool grows to `max_instances` (the concurrency limit)
and reuses warm instances. A timeout kills the instance (Lambda's "Task timed out"), a crash discards it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from infrastructure.local.instance import FunctionError, Instance

logger = logging.getLogger("concord.local.runtime")

__all__ = ["FunctionError", "LocalFunction"]


class LocalFunction:
    def __init__(self, name: str, handler: str, environment: Mapping[str, str], *, timeout_s: float,
                 log_dir: Path, max_instances: int = 4) -> None:
        self.name, self.handler, self.timeout_s = name, handler, timeout_s
        self.environment = dict(environment)
        self.log_path = log_dir / f"{name}.log"
        self.max_instances = max_instances
        self.invocations = 0
        self._idle: list[Instance] = []
        self._count = 0
        self._cond = threading.Condition()
        self._stopped = False

    def invoke(self, event: Any) -> Any:
        """RequestResponse: the handler's (JSON) result, or FunctionError."""
        instance = self._acquire()
        try:
            result = self._call(instance, event)
        except FunctionError as exc:
            if exc.error_type in ("Sandbox.Timedout", "Runtime.ExitError"):
                self._discard(instance)
                instance = None
            raise
        finally:
            if instance is not None:
                self._release(instance)
        return result

    def invoke_async(self, event: Any, *, on_failure: Callable[[Any, FunctionError], None] | None = None,
                     retries: int = 2, retry_delay_s: float = 1.0) -> threading.Thread:
        """InvocationType=Event: Lambda retries a failed async invocation twice, then dead-letters it."""
        def run() -> None:
            last = FunctionError("Local.NotRun", "never invoked")
            for attempt in range(retries + 1):
                try:
                    self.invoke(event)
                    return
                except FunctionError as exc:
                    logger.warning(
                        "async invocation of %s failed (attempt %d): %s", self.name, attempt + 1, exc
                    )
                    last = exc
                if attempt < retries and not self._stopped:
                    time.sleep(retry_delay_s * (attempt + 1))
            if on_failure is not None and not self._stopped:
                on_failure(event, last)

        thread = threading.Thread(target=run, name=f"async-{self.name}", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for instance in idle:
            instance.shutdown()

    # -- the pool ----------------------------------------------------------------------------------
    def _acquire(self) -> Instance:
        with self._cond:
            while True:
                if self._stopped:
                    raise FunctionError("Local.Stopped", f"{self.name}: the runtime is stopping")
                if self._idle:
                    return self._idle.pop()
                if self._count < self.max_instances:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return self._start()
        except Exception:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _release(self, instance: Instance) -> None:
        with self._cond:
            if not self._stopped:
                self._idle.append(instance)
                self._cond.notify()
                return
        instance.shutdown()

    def _discard(self, instance: Instance) -> None:
        instance.kill()
        with self._cond:
            self._count -= 1
            self._cond.notify()

    def _start(self) -> Instance:
        return Instance(self.name, self.handler, self.environment, self.log_path)

    def _call(self, instance: Instance, event: Any) -> Any:
        self.invocations += 1
        return instance.call(event, self.timeout_s)
