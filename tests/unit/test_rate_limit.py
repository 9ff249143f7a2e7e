"""The outbound rate limiter: the rate it promises, never more in any 1 s window, Retry-After pauses."""

from __future__ import annotations

import bisect
import multiprocessing

from adapters.outbound import TokenBucket


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0) + 0.0007  # sleeps always overshoot a little, as real ones do


def _max_in_window(stamps: list[float], width: float = 1.0) -> int:
    return max(bisect.bisect_left(stamps, t + width) - i for i, t in enumerate(stamps))


def test_the_sustained_rate_is_the_configured_one_and_no_window_exceeds_it():
    fake = FakeTime()
    bucket = TokenBucket(25, burst=5, clock=fake.clock, sleep=fake.sleep)
    stamps = [bucket.acquire() for _ in range(1000)]
    rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    assert abs(rate - 25) <= 25 * 0.05  # within 5% (the burst credit at the start lifts the average)
    assert _max_in_window(stamps) <= 25


def test_late_wake_ups_do_not_cost_throughput():
    fake = FakeTime()
    bucket = TokenBucket(50, burst=1, clock=fake.clock, sleep=lambda s: setattr(fake, "now", fake.now + s + 0.005))
    stamps = [bucket.acquire() for _ in range(500)]
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) >= 50 * 0.95


def test_a_retry_after_pause_holds_every_caller():
    fake = FakeTime()
    bucket = TokenBucket(10, clock=fake.clock, sleep=fake.sleep)
    bucket.acquire()
    bucket.pause_until(fake.now + 30)
    assert bucket.acquire() >= 1030


def _worker(rate: float, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    bucket = TokenBucket(rate, burst=1)
    out.put([bucket.acquire() for _ in range(count)])


def test_two_worker_processes_with_half_the_rate_each_stay_under_the_total():
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    workers = [multiprocessing.Process(target=_worker, args=(20, 30, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    stamps = sorted(queue.get(timeout=30) + queue.get(timeout=30))
    for worker in workers:
        worker.join()
    assert _max_in_window(stamps) <= 40  # the configured total: MaximumConcurrency 2 x 20/s
