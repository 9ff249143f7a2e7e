"""The full chaos run of issue 6 ON THE LOCAL STACK: 2,000 CRM and billing changes through the stack
`concord dev` runs (moto server, the vendor sandboxes, one worker process per function, SQS event source
mappings, the DynamoDB event store, the outbox relay, EventBridge), with 5% vendor 5xx, 1% 429, 1% of
emitted events dropped and 1% duplicated, relay events shuffled, and workers killed with SIGKILL right
after a billing write and at random moments. Then ONE reconcile --repair and a direct comparison of
Salesforce and billing over their APIs, and every DLQ message with its reason.

CI runs the same thing smaller (tests/chaos/test_local_stack_chaos.py, CONCORD_LOCAL_CHAOS_CHANGES,
default 100). Prints the figures and every disagreement left; no pass/fail.
    PYTHONPATH=. .venv/bin/python benchmarks/chaos_local.py [changes] [zuora|stripe] [seed]
(it reuses tests/chaos/local_stack and tests/chaos/harness; a 2,000-change run takes over an hour here.
`kill -USR1 <pid>` stops making changes: the run then drains, repairs, compares and prints what it made.)
"""

from __future__ import annotations

import logging
import signal
import sys
import time

from tests.chaos.local_stack.run import STOP_CHANGES, LocalChaosConfig, local_chaos_run


def main() -> None:
    changes = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    vendor = sys.argv[2] if len(sys.argv) > 2 else "zuora"
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else LocalChaosConfig.seed
    # A SIGTERM (nohup'd run stopped, CI timeout) must still stop the stack and its worker processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGUSR1, lambda *_: STOP_CHANGES.set())  # stop changing; drain, repair, compare
    logging.disable(logging.ERROR)  # one line per failed batch otherwise; the figures say it all
    config = LocalChaosConfig(changes=changes, vendor=vendor, seed=seed, drain_timeout_s=3600)
    started = time.monotonic()
    figures = local_chaos_run(config, progress=lambda message: print(
        f"[{time.monotonic() - started:.0f} s] {message}", file=sys.stderr, flush=True))
    print(f"== chaos run on the local stack: {changes} changes, seed {seed}, {vendor} ==")
    print("\n".join(figures.lines()))
    for kind, found in sorted(figures.after.disagreements.items()):
        print(f"left after repair: {kind} ({len(found)}), e.g. {found[:3]}")
    for letter in figures.letters[:20]:
        print(f"dead letter: {letter.queue} <- {letter.source_queue}: {letter.reason[:300] or '(no reason)'}")


if __name__ == "__main__":
    main()
