"""One chaos run: changes under faults, drain, measure drift, ONE reconcile --repair, drain, measure again."""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from application.consistency import reconcile_accounts, reconcile_orders, reconcile_products
from domain.order import Order, OrderStatus
from tests.chaos.harness.actors import SalesRep
from tests.chaos.harness.scenario import Scenario
from tests.chaos.harness.stack import SF_ID, SF_SECRET, ChaosConfig, ChaosStack
from tests.chaos.harness.verify import Agreement, compare_accounts, compare_orders, compare_products
from tests.chaos.harness.workers import Workers

ROUND = 25  # changes between two pumps of the queues
ROUND_S = 10.0  # logical seconds between rounds: earlier failures come back while new changes arrive


@dataclass
class Figures:
    changes: Counter[str] = field(default_factory=Counter)
    faults: dict[str, int] = field(default_factory=dict)
    queues: dict[str, dict[str, int]] = field(default_factory=dict)
    dead_letters: Counter[str] = field(default_factory=Counter)
    drift_before: dict[str, int] = field(default_factory=dict)
    drift_after: dict[str, int] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    after: Agreement = field(default_factory=Agreement)
    unlabelled_dead_letters: int = 0
    app: Any = None  # concord's event store after the run (for the read-model rebuild)
    vendor: str = ""

    def lines(self) -> list[str]:
        found = self.after.disagreements
        total = {k: sum(q[k] for q in self.queues.values()) for k in ("sent", "received", "redelivered")}
        return [
            f"changes applied: {sum(self.changes.values())} {dict(self.changes)}",
            f"faults injected: {self.faults}",
            f"queue messages: {total}; retried after a failure: "
            f"{sum(q['retried'] for q in self.queues.values())}; batches lost to a killed worker: "
            f"{sum(q['crashed_batches'] for q in self.queues.values())}",
            f"dead letters: {sum(self.dead_letters.values())} by reason {dict(self.dead_letters)}",
            f"drift before repair (API comparison): {self.drift_before}",
            f"reconcile --repair: {self.reconcile}",
            f"drift after repair (API comparison): {self.drift_after}",
            f"duplicates after: accounts {len(found.get('duplicate_billing_accounts', []))}, "
            f"subscriptions {len(found.get('duplicate_subscriptions', []))}",
            f"records compared: {dict(self.after.counts)}",
            f"seconds: {self.seconds}",
        ]


def agreement(stack: ChaosStack, rep: SalesRep) -> Agreement:
    result = Agreement()
    compare_accounts(rep, stack.side, result)
    compare_products(rep, stack.side, result)
    for order_id, status in compare_orders(rep, stack.side, result).items():
        order = stack.app.get_or_none(Order, order_id)
        if order is None or order.status.value != status:
            result.flag("order_status_mismatch", (order_id, order and order.status.value, status))
    missing = result.disagreements.pop("order_missing_in_billing", [])
    for order_id in missing:  # told apart: concord gave up on it (billing refused), or it never arrived
        order = stack.app.get_or_none(Order, order_id)
        refused = order is not None and order.status == OrderStatus.REJECTED
        result.flag("order_rejected_by_billing" if refused else "order_missing_in_billing", order_id)
    return result


def _reason_kind(reason: str) -> str:
    """The reason without ids: 'PermanentError [53100330]', 'gave up: RetryableError [ACCOUNT_PENDING]'."""
    head = reason.split(":", 1)[0]
    if head.startswith("gave up"):
        return "gave up: " + reason.split(":", 2)[1].strip()
    return head


def chaos_run(changes: int, config: ChaosConfig | None = None, products: int = 8) -> Figures:
    figures, stack = Figures(), ChaosStack(config or ChaosConfig())
    try:
        started = time.monotonic()
        rep = SalesRep(stack.sf_url, SF_ID, SF_SECRET)
        scenario = Scenario(rep, stack.side, random.Random(stack.config.seed + 7))
        workers = Workers(stack)
        stack.chaos(True)
        scenario.seed_catalog(products)
        for number in range(changes):
            scenario.step()
            if number == changes // 2:
                stack.expire_tokens()
            if number % ROUND == ROUND - 1:
                stack.flush_events()
                workers.pump()
                stack.clock.advance(ROUND_S)
        workers.settle()
        figures.seconds["run"] = round(time.monotonic() - started, 1)
        _repair(stack, workers, figures, rep)
        figures.seconds["total"] = round(time.monotonic() - started, 1)
        figures.changes = scenario.applied
        figures.faults = stack.fault_stats()
        figures.faults["webhooks_deduplicated_by_gateway"] = stack.side.endpoint.idempotency.repeats
        figures.queues = {name: dict(q.stats) for name, q in stack.queues.items()}
        figures.dead_letters = Counter(_reason_kind(d.reason) for d in stack.dead_letters.letters)
        figures.unlabelled_dead_letters = sum(not d.reason.strip() for d in stack.dead_letters.letters)
        figures.app, figures.vendor = stack.app, stack.config.vendor
        return figures
    finally:
        stack.stop()


def _repair(stack: ChaosStack, workers: Workers, figures: Figures, rep: SalesRep) -> None:
    """ONE reconcile --repair (catalog, accounts, orders: each needs the one before), under faults."""
    figures.drift_before = agreement(stack, rep).summary()
    stack.fresh_tokens(stack.operator.crm, stack.operator.billing)
    started = time.monotonic()
    for name, run in (
        ("product", reconcile_products),
        ("account", reconcile_accounts),
        ("order", reconcile_orders),
    ):
        report = run(stack.operator, repair=True, correlation_id=f"chaos-reconcile-{name}")
        figures.reconcile[name] = {"counts": dict(report.counts), "repaired": report.repaired}
    figures.seconds["reconcile"] = round(time.monotonic() - started, 1)
    stack.chaos(False)
    workers.settle()  # what the repairs set off (webhooks, callouts) goes through the queues too
    figures.after = agreement(stack, rep)
    figures.drift_after = figures.after.summary()
