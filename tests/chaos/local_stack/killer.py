"""Killing concord's workers with SIGKILL, as a crashed Lambda execution environment dies.

Two ways, both counted:
  - after a vendor write: the billing sandbox's `after_write` hook runs once the vendor has applied a
    write and before it answers; when the caller is a worker of a targeted function (found from the
    caller's socket: /proc/net/tcp gives the inode, /proc/<pid>/fd the process), it is killed there
    once every 1/`rate` such writes (from a random first one on, so the count is known and the moments
    are not). The vendor keeps what it did; concord never hears of it, saves nothing,
    and SQS hands the whole batch out again after the visibility timeout.
  - at random moments: a thread kills a worker that is handling a batch right now, wherever it is
    (its cold start, a CRM read, a store write, between a vendor write and the store write).
    A random kill counts as "after a vendor write" when that worker's current invocation had a write
    accepted by the vendor before it died.

The runtime (infrastructure/local/functions.py) treats a worker that dies as Lambda does: the
invocation fails with Runtime.ExitError, the instance is discarded and the next invocation starts a
fresh one (a cold start). Nothing here restarts anything.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from infrastructure.local.functions import LocalFunction
from infrastructure.sandboxes.base import Request, Response

TARGETS = ("AccountFunction", "OrderFunction", "ProductFunction")


def socket_inode(local_port: int, remote_port: int) -> int | None:
    """The inode of the loopback TCP socket bound to `local_port` and connected to `remote_port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as handle:
                rows = handle.readlines()[1:]
        except OSError:
            continue
        for row in rows:
            parts = row.split()
            if len(parts) < 10:
                continue
            local, remote = parts[1].rsplit(":", 1)[1], parts[2].rsplit(":", 1)[1]
            if int(local, 16) == local_port and int(remote, 16) == remote_port:
                return int(parts[9])
    return None


def socket_owner(inode: int, pids: Iterable[int]) -> int | None:
    target = f"socket:[{inode}]"
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
        except OSError:  # gone meanwhile
            continue
    return None


def _accepted(response: Response) -> bool:
    """The vendor did the write: 2xx, and not Zuora's 200 with success:false."""
    return 200 <= response.status < 300 and b'"success": false' not in response.body[:4096]


def _is_write(request: Request) -> bool:
    return request.method != "GET" and not request.path.startswith(("/oauth", "/services/oauth2"))


class WorkerKiller:
    def __init__(self, functions: dict[str, LocalFunction], *, vendor_port: int, rate: float,
                 random_every_s: float, seed: int, targets: Iterable[str] = TARGETS) -> None:
        self.functions = {name: functions[name] for name in targets if name in functions}
        self.vendor_port, self.rate, self.random_every_s = vendor_port, rate, random_every_s
        self.rng = random.Random(seed)
        self.period = max(1, round(1 / rate)) if rate > 0 else 0
        self._countdown = self.rng.randint(1, self.period) if self.period else 0
        self.armed = False
        self.busy: dict[int, tuple[str, float]] = {}  # pid -> (function, invocation started)
        self.last_write: dict[int, float] = {}  # pid -> when the vendor last accepted a write from it
        self.writes: Counter[str] = Counter()  # vendor writes accepted, by function
        self.after_write_kills: Counter[str] = Counter()  # by function
        self.random_kills: Counter[str] = Counter()
        self.random_kills_after_write: Counter[str] = Counter()
        self.invocations_started: Counter[str] = Counter()
        self.log: list[tuple[float, int, str, str]] = []  # (when, pid, function, after what)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._random_killer, name="chaos-killer", daemon=True)
        for name, function in self.functions.items():
            self._track(name, function)

    # -- what the runtime is doing ----------------------------------------------------------------
    def _track(self, name: str, function: LocalFunction) -> None:
        original = function._call

        def call(instance: Any, event: Any) -> Any:
            pid = instance.process.pid
            with self._lock:
                self.busy[pid] = (name, time.monotonic())
                self.invocations_started[name] += 1
            try:
                return original(instance, event)
            finally:
                with self._lock:
                    self.busy.pop(pid, None)

        function._call = call  # type: ignore[method-assign]

    # -- the sandbox hook ---------------------------------------------------------------------------
    def after_write(self, request: Request, response: Response) -> None:
        if request.peer is None or not _is_write(request) or not _accepted(response):
            return
        with self._lock:
            candidates = list(self.busy)
        if not candidates:
            return
        inode = socket_inode(request.peer[1], self.vendor_port)
        pid = socket_owner(inode, candidates) if inode is not None else None
        if pid is None:
            return  # a person (the clerk), the operator, or another function
        with self._lock:
            name = self.busy.get(pid, ("?", 0.0))[0]
            self.writes[name] += 1
            self.last_write[pid] = time.monotonic()
            kill = False
            if self.armed and self.period:
                self._countdown -= 1
                kill = self._countdown <= 0
            if kill:
                self._countdown = self.period
                self.after_write_kills[name] += 1
                self.log.append((time.time(), pid, name, f"{request.method} {request.path}"))
        if kill:
            _kill(pid)

    # -- random moments -------------------------------------------------------------------------------
    def start(self) -> None:
        self.armed = True
        if self.random_every_s > 0:
            self._thread.start()

    def disarm(self) -> None:
        self.armed = False
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _random_killer(self) -> None:
        while not self._stop.wait(self.rng.expovariate(1 / self.random_every_s)):
            with self._lock:
                if not self.busy or not self.armed:
                    continue
                pid = self.rng.choice(sorted(self.busy))
                name, started = self.busy[pid]
                after_write = self.last_write.get(pid, -1.0) >= started
                self.random_kills[name] += 1
                self.log.append((time.time(), pid, name, "random" + (" after a write" if after_write else "")))
                if after_write:
                    self.random_kills_after_write[name] += 1
            _kill(pid)

    def figures(self) -> dict[str, Any]:
        after = sum(self.after_write_kills.values()) + sum(self.random_kills_after_write.values())
        return {
            "killed": sum(self.after_write_kills.values()) + sum(self.random_kills.values()),
            "killed_after_a_vendor_write": after,
            "by_hook_after_write": dict(self.after_write_kills),
            "at_random": dict(self.random_kills),
            "at_random_after_a_write": dict(self.random_kills_after_write),
            "vendor_writes_seen": dict(self.writes),
            "invocations": dict(self.invocations_started),
        }


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
