"""One chaos run on the LOCAL STACK (`concord dev`'s: moto server, the vendor sandboxes, one worker
process per function, SQS event source mappings, the DynamoDB event store, the outbox relay, the bus).

    figures = local_chaos_run(LocalChaosConfig(changes=200, vendor="zuora"))
    print("\\n".join(figures.lines()))

1. Start the stack; shorten the service queues' visibility timeout (a killed batch comes back after
   `visibility_s`, not 180 s) and their batches (see LocalChaosConfig); shuffle Salesforce's relay
   events; fault both sandboxes (5% 5xx, 1% 429, 1% of emitted CDC events / callouts / webhooks
   dropped, 1% duplicated); arm the worker killer.
2. People change things over the vendors' raw APIs (tests/chaos/harness/scenario.py: accounts,
   edits, orders, activations, quantity amendments, price and product changes in Salesforce; clerk
   cancellations and payment outcomes in billing), paced so the queues' backlog stays bounded.
3. Wait until every service queue is empty, disarm the killer, compare both systems (drift before).
4. ONE `concord reconcile --repair --entity all` (the real CLI, in its own process), still under faults;
   faults off, drain again, compare both systems directly over their APIs, list every DLQ message.
"""

from __future__ import annotations

import logging
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tests.chaos.local_stack.operator as operator
from infrastructure.local.stack import LocalStack
from infrastructure.sandboxes.base import Faults
from tests.chaos.harness.actors import SalesRep
from tests.chaos.harness.scenario import Scenario
from tests.chaos.harness.verify import Agreement, compare_accounts, compare_orders, compare_products
from tests.chaos.local_stack.killer import WorkerKiller
from tests.chaos.local_stack.queues import DeadLetter, dead_letters, depths, drain, shorten_visibility
from tests.chaos.local_stack.shuffle import ShufflingSink
from tests.chaos.local_stack.sides import SIDES

logger = logging.getLogger("concord.chaos.local")
# Set (benchmarks/chaos_local.py does on SIGUSR1) to stop making changes: the run drains, repairs and
# compares what was made so far, so a long run cut short still prints its figures.
STOP_CHANGES = threading.Event()
ROUND = 5  # changes between two looks at the backlog


@dataclass(frozen=True)
class LocalChaosConfig:
    changes: int = 200
    vendor: str = "zuora"
    seed: int = 20261122
    error_rate: float = 0.05  # vendor 5xx
    throttle_rate: float = 0.01  # vendor 429 (Salesforce: 403 REQUEST_LIMIT_EXCEEDED)
    drop_event_rate: float = 0.01
    duplicate_event_rate: float = 0.01
    kill_rate: float = 0.01  # of the billing writes a worker made that the vendor accepted
    random_kill_every_s: float = 45.0  # mean interval between kills of a busy worker anywhere
    # Sizing for a shared 2-core machine, where a record takes ~1 s rather than ~0.1 s: batches of 5
    # (the template's 10 would not fit the 30 s function timeout), and a visibility timeout just above
    # that timeout (AWS's rule) rather than the template's 180 s, so a killed batch is back in 35 s.
    batch_size: int = 5
    visibility_s: int = 35
    products: int = 8
    backlog: int = 25  # the people wait while more messages than this are queued (account, order, product)
    interval_s: float = 0.25  # at least this long between two changes: events reach the queues meanwhile
    drain_timeout_s: float = 900.0
    shuffle_window_s: float = 0.5

    def faults(self, salt: int) -> Faults:
        return Faults(error_rate=self.error_rate, throttle_rate=self.throttle_rate,
                      drop_event_rate=self.drop_event_rate, duplicate_event_rate=self.duplicate_event_rate,
                      seed=self.seed + salt)


@dataclass
class LocalFigures:
    vendor: str = ""
    changes: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    kills: dict[str, Any] = field(default_factory=dict)
    kill_log: list[tuple[float, int, str, str]] = field(default_factory=list)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    shuffled: dict[str, int] = field(default_factory=dict)
    letters: list[DeadLetter] = field(default_factory=list)
    drift_before: dict[str, int] = field(default_factory=dict)
    drift_after: dict[str, int] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    after: Agreement = field(default_factory=Agreement)

    @property
    def dead_letters(self) -> Counter[str]:
        return Counter(f"{d.queue}: {_reason_kind(d.reason)}" for d in self.letters)

    @property
    def unlabelled_dead_letters(self) -> list[DeadLetter]:
        return [d for d in self.letters if not d.reason]

    def lines(self) -> list[str]:
        found = self.after.disagreements
        total = {k: sum(q[k] for q in self.queues.values()) for k in ("batches", "deleted", "returned")}
        repairs = {k: {"counts": v["counts"], "repaired": v["repaired"]} for k, v in self.reconcile.items()}
        return [
            f"changes applied: {sum(self.changes.values())} {dict(self.changes)}",
            f"faults injected: {self.faults}",
            f"workers killed: {self.kills.get('killed', 0)}, of which after a vendor write (before the store "
            f"write): {self.kills.get('killed_after_a_vendor_write', 0)}; {self.kills}",
            f"relay events reordered: {self.shuffled}",
            f"queue batches: {total}; by queue {self.queues}",
            f"dead letters: {len(self.letters)} (without a reason: {len(self.unlabelled_dead_letters)}) "
            f"by reason {dict(self.dead_letters)}",
            f"drift before repair (API comparison): {self.drift_before}",
            f"reconcile --repair: {repairs}",
            f"drift after repair (API comparison): {self.drift_after}",
            f"duplicates after: accounts {len(found.get('duplicate_billing_accounts', []))}, "
            f"subscriptions {len(found.get('duplicate_subscriptions', []))}",
            f"records compared: {dict(self.after.counts)}",
            f"seconds: {self.seconds}",
        ]


def _reason_kind(reason: str) -> str:
    """The reason without ids: 'PermanentError [53100330]', 'gave up ...: RetryableError [ACCOUNT_PENDING]'."""
    if not reason:
        return "(no reason)"
    head = reason.split(":", 1)[0]
    if head.startswith("gave up"):
        return "gave up: " + reason.split(":", 2)[1].strip()
    return head


def agreement(rep: SalesRep, side: Any, environment: dict[str, str]) -> Agreement:
    """Both systems over their raw APIs; concord's own order status from its event store (operator)."""
    result = Agreement()
    compare_accounts(rep, side, result)
    compare_products(rep, side, result)
    statuses = compare_orders(rep, side, result)
    missing = result.disagreements.pop("order_missing_in_billing", [])
    concord = operator.run("orders", environment, sorted({*statuses, *missing}))
    for order_id, status in statuses.items():
        if concord.get(order_id) != status:
            result.flag("order_status_mismatch", (order_id, concord.get(order_id), status))
    for order_id in missing:  # told apart: concord gave up on it (billing refused), or it never arrived
        refused = concord.get(order_id) == "rejected"
        result.flag("order_rejected_by_billing" if refused else "order_missing_in_billing", order_id)
    return result


class _Run:
    def __init__(self, config: LocalChaosConfig, state_dir: Path, progress: Callable[[str], None]) -> None:
        self.config, self.figures, self.progress = config, LocalFigures(vendor=config.vendor), progress
        self.workdir = state_dir
        self.stack = LocalStack(vendor=config.vendor, state_dir=state_dir).start()
        try:
            self._prepare(config)
        except BaseException:
            self.stack.stop()
            raise

    def _prepare(self, config: LocalChaosConfig) -> None:
        assert self.stack.topology is not None and self.stack.sandboxes is not None
        assert self.stack.runtime is not None
        self.sqs = self.stack.client("sqs")
        self.queues = {q.logical_id: q.url for q in self.stack.topology.queues.values()}
        shorten_visibility(self.sqs, self.queues, config.visibility_s)
        for source in self.stack.runtime.triggers.sqs.values():
            source.batch_size = config.batch_size
        self.salesforce = self.stack.sandboxes.salesforce
        self.salesforce.daily_limit = 10**7  # the run's own reads and writes must not end the day
        self.shuffler = ShufflingSink(self.salesforce.emitter.sink, random.Random(config.seed + 3),  # type: ignore[arg-type]
                                      config.shuffle_window_s)
        self.salesforce.emitter.sink = self.shuffler
        self.side: Any = SIDES[config.vendor](self.stack.sandboxes)
        self.killer = WorkerKiller(self.stack.runtime.functions, vendor_port=self.side.sandbox.port,
                                   rate=config.kill_rate, random_every_s=config.random_kill_every_s,
                                   seed=config.seed + 5)
        self.side.sandbox.after_write = self.killer.after_write
        credentials = self.stack.sandboxes.credentials["salesforce"]
        self.rep = SalesRep(self.salesforce.url, credentials["client_id"], credentials["client_secret"])
        self.environment = self.stack.client_environment()

    def chaos(self, on: bool) -> None:
        self.salesforce.set_faults(self.config.faults(1) if on else Faults())
        self.side.sandbox.set_faults(self.config.faults(2) if on else Faults())

    def idle(self) -> bool:
        return self.salesforce.emitter._queue.empty() and self.shuffler.idle() and self.side.idle()

    def pace(self) -> None:
        """People wait while the backlog is large: concord keeps up, the clerks see its subscriptions."""
        deadline = time.monotonic() + 300
        watched = {k: v for k, v in self.queues.items() if k in ("AccountQueue", "OrderQueue", "ProductQueue")}
        while sum(depths(self.sqs, watched).values()) > self.config.backlog and time.monotonic() < deadline:
            time.sleep(1.0)

    def drive(self) -> None:
        scenario = Scenario(self.rep, self.side, random.Random(self.config.seed + 7))
        scenario.seed_catalog(self.config.products)
        for number in range(self.config.changes):
            if STOP_CHANGES.is_set():
                self.progress(f"asked to stop making changes after {number}")
                break
            scenario.step()
            time.sleep(self.config.interval_s)
            if number % ROUND == ROUND - 1:
                self.pace()
            if number % 100 == 99:
                self.progress(f"{number + 1} changes made")
        self.figures.changes = scenario.applied

    def drain(self) -> float:
        return round(drain(self.sqs, self.queues, idle=self.idle, timeout_s=self.config.drain_timeout_s), 1)

    def fault_stats(self) -> dict[str, int]:
        sf, emitter, billing = self.salesforce.stats, self.salesforce.emitter.stats, self.side.fault_stats()
        return {"5xx": sf["fault:5xx"] + billing["5xx"], "429": sf["fault:429"] + billing["429"],
                "events_dropped": emitter["dropped"] + billing["events_dropped"],
                "events_duplicated": emitter["duplicated"] + billing["events_duplicated"]}

    def queue_stats(self) -> dict[str, dict[str, int]]:
        assert self.stack.runtime is not None
        return {key.split(":")[0].removesuffix("Function"): {"batches": s.batches, "deleted": s.deleted,
                                                            "returned": s.returned}
                for key, s in self.stack.runtime.triggers.sqs.items()}

    def stop(self) -> None:
        self.killer.disarm()
        self.shuffler.stop()
        self.rep.session.http.close()
        self.side.stop()
        self.stack.stop()


def local_chaos_run(config: LocalChaosConfig, state_dir: Path | None = None,
                    progress: Callable[[str], None] = logger.info) -> LocalFigures:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="concord-chaos-") as scratch:
        run = _Run(config, state_dir or Path(scratch), progress)
        figures, seconds = run.figures, run.figures.seconds
        try:
            seconds["stack_start"] = round(time.monotonic() - started, 1)
            run.chaos(True)
            run.killer.start()
            run.drive()
            seconds["changes"] = round(time.monotonic() - started - seconds["stack_start"], 1)
            run.progress("changes done; draining the queues")
            seconds["drain"] = run.drain()
            run.progress(f"drained in {seconds['drain']} s; comparing, then ONE reconcile --repair")
            run.killer.disarm()
            figures.kills, figures.kill_log = run.killer.figures(), list(run.killer.log)
            figures.drift_before = agreement(run.rep, run.side, run.environment).summary()
            repair_started = time.monotonic()
            figures.reconcile = operator.cli_reconcile(run.environment, run.workdir)
            seconds["reconcile"] = round(time.monotonic() - repair_started, 1)
            run.chaos(False)
            run.progress(f"reconciled in {seconds['reconcile']} s; draining what the repairs set off")
            seconds["drain_after_repair"] = run.drain()
            figures.after = agreement(run.rep, run.side, run.environment)
            figures.drift_after = figures.after.summary()
            figures.letters = dead_letters(run.sqs, run.queues)
            figures.faults = run.fault_stats()
            figures.queues = run.queue_stats()
            figures.shuffled = {"sent": run.shuffler.sent, "moved": run.shuffler.moved,
                                "errors": run.shuffler.errors}
            seconds["total"] = round(time.monotonic() - started, 1)
            return figures
        finally:
            run.stop()
