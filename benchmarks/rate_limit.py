"""Outbound rate discipline (issue 4): under a configured R requests/s over 10 s, the measured rate is
within 5% of R and never above R in any 1 s window; and two worker processes sharing a vendor with
per-process buckets of R/2 (the MaximumConcurrency x per-process formula) stay under R together.

Requests go to a Zuora sandbox over HTTP (keep-alive). Prints numbers; no pass/fail.
    .venv/bin/python benchmarks/rate_limit.py [R] [seconds]
"""

from __future__ import annotations

import bisect
import multiprocessing
import sys
import threading
import time

import httpx

from adapters.outbound import TokenBucket
from infrastructure.sandboxes.zuora import ZuoraSandbox


def hammer(url: str, rate: float, seconds: float, threads: int = 8) -> list[float]:
    """`threads` callers all wanting to go as fast as they can, held back by one bucket."""
    clients = [httpx.Client() for _ in range(threads)]  # ~0.5 s each to build here: not in the window
    bucket = TokenBucket(rate, burst=1)
    stamps: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def caller(client: httpx.Client) -> None:
        while True:
            now = bucket.acquire()  # the admitted time: what the limiter promises about
            if now >= deadline:
                return
            client.get(f"{url}/__sandbox/stats")
            with lock:
                stamps.append(now)

    workers = [threading.Thread(target=caller, args=(client,)) for client in clients]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sorted(stamps)


def max_in_any_window(stamps: list[float], width: float = 1.0) -> int:
    return max((bisect.bisect_left(stamps, t + width) - i for i, t in enumerate(stamps)), default=0)


def _worker(url: str, rate: float, seconds: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(hammer(url, rate, seconds, threads=4))


def main() -> None:
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 20.0
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    sandbox = ZuoraSandbox("bench", "bench")
    url = sandbox.start()
    stamps = hammer(url, rate, seconds)
    measured = len(stamps) / seconds
    print(f"one process, R={rate:.0f}/s for {seconds:.0f}s: {len(stamps)} requests, {measured:.2f}/s "
          f"({100 * (measured - rate) / rate:+.1f}% of R), max in any 1 s window: {max_in_any_window(stamps)}")
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [multiprocessing.Process(target=_worker, args=(url, rate / 2, seconds, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    both = sorted(queue.get() + queue.get())
    for proc in procs:
        proc.join()
    print(f"two processes, R/2 each: {len(both)} requests, {len(both) / seconds:.2f}/s together, "
          f"max in any 1 s window: {max_in_any_window(both)} (configured total {rate:.0f})")
    sandbox.stop()


if __name__ == "__main__":
    main()
