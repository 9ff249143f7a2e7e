"""Initial load (issue 6): every CRM record through the normal commands, checkpointed per page.

`run_backfill` pages through the CRM by the inclusive (LastModifiedDate, Id) watermark of
CrmGateway.changed_*, hands each record to its normal command (event-sourced, idempotent, audited)
and saves the Backfill checkpoint after every page, so a killed load resumes at its last page and
redoes at most that one. The records' whole-record reads are answered from the page (backfill_pages):
a page of accounts costs 1 CRM call, a page of orders or products 2 (records + lines or prices), plus
2 calls for each order or product concord holds in a newer or different state than the page.

Before each page the CRM's daily quota is checked: when the next page would take the remaining calls
below `floor` (kept for live sync), or the CRM refuses for quota, the load stops with a Paused event
saying why, the usage, and an honest estimate of when it can go on. Running it again continues.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from application.backfill_pages import PageClock, PageReads, order_is_current, product_is_current
from application.commands import SyncAccountFromCrm, SyncOrderFromCrm, SyncProductFromCrm
from application.consistency import _refetch
from application.errors import PermanentError, RetryableError
from application.handlers import handle
from application.ports import ApiUsage, ChangedPage
from application.services import Services
from domain.account import Account
from domain.errors import DomainError
from domain.runs import Backfill
from domain.sync import CrmChange

ENTITIES = ("account", "order", "product")
QUOTA_CODES = frozenset({"REQUEST_LIMIT_EXCEEDED"})
# A record waiting on another (an order before its account or products are loaded): a failure of that
# record, reported; the load goes on. Other retryable errors (the vendor is down) stop the load.
WAITING_CODES = frozenset({"ACCOUNT_PENDING", "PRODUCT_PENDING", "PRICE_PENDING", "ORDER_SUSPENDED"})
ALL = "all"  # the load of every record (no --since)
PAGE_CALLS = {"account": 1, "order": 2, "product": 2}  # CRM calls of a page before any is measured


@dataclass(frozen=True)
class Progress:
    entity: str
    done: int  # records handled (loaded or failed), this run and the runs before it
    total: int | None  # what COUNT() said when the load started (records changed meanwhile come again)
    failed: int
    this_run: int
    elapsed_s: float
    usage: ApiUsage | None

    @property
    def rate(self) -> float:
        return self.this_run / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.done) / self.rate


def normal_since(since: str | None) -> str:
    """`since` as UTC ISO 8601 to the second, so equal moments name one load; ALL without one (the
    first CLI's key too: an account load it began goes on, its cursor is the same watermark)."""
    if not since or since == ALL:
        return ALL
    moment = datetime.fromisoformat(since.replace("Z", "+00:00"))
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_backfill(svc: Services, entity: str, *, since: str | None, correlation_id: str, page_size: int = 200,
                 floor: int = 0, max_pages: int | None = None, progress: Callable[[Progress], None] | None = None,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Backfill:
    """Load (or go on loading) `entity` from the CRM; returns the Backfill as saved (done, or paused)."""
    if entity not in ENTITIES:
        raise ValueError(f"{entity!r} is not one of {ENTITIES}")
    key = normal_since(since)
    existing = svc.app.get_or_none(Backfill, entity, key)
    job = existing or Backfill(entity=entity, since=key)
    if job.done:
        return job
    if job.total is None or job.paused is not None:
        # After a pause the count is taken again: records changed meanwhile, and the usage the CRM
        # reported last is a day old (the answer carries today's). A run that starts knowing no
        # usage otherwise checks the floor from its first page's answer on.
        job.counted(svc.crm.count_changed(entity, _since_filter(key)))
    job.resume(now().isoformat())
    svc.app.save(job)
    clock, run, costs, first_page = time.monotonic(), 0, [PAGE_CALLS[entity]], job.pages
    redo = existing is not None  # the first page may be one a killed run had begun
    while not job.done and (max_pages is None or job.pages - first_page < max_pages):
        usage = svc.crm.api_usage()
        if usage is not None and usage.remaining - max(costs) < floor:
            return _pause(svc, job, "quota_floor", usage, floor, max(costs), now())
        try:
            run += _one_page(svc, job, entity, key, page_size, correlation_id, redo, now, usage, costs)
        except RetryableError as exc:
            if exc.code not in QUOTA_CODES:
                raise  # the vendor is down: the checkpoint stands, a later run redoes this page
            return _pause(svc, job, "quota_exhausted", svc.crm.api_usage() or ApiUsage(0, 0), floor, max(costs),
                          now())
        redo = False
        if progress is not None:
            failed = sum(job.failed.values())
            progress(Progress(entity, job.loaded + failed, job.total, failed, run, time.monotonic() - clock,
                              svc.crm.api_usage()))
    return job


def _one_page(svc: Services, job: Backfill, entity: str, since: str, page_size: int, cid: str, redo: bool,
              now: Callable[[], datetime], before: ApiUsage | None, costs: list[int]) -> int:
    read_at = now()
    page = _list(svc, entity)(_since_filter(since), job.cursor, page_size)
    failed, examples = _load_page(svc, entity, page, read_at, cid, redo)
    after = svc.crm.api_usage()
    calls = after.used - before.used if after is not None and before is not None else 0
    costs.append(max(calls, 1))
    job.checkpoint(page.next_cursor, len(page.items) - sum(failed.values()) + len(page.invalid),
                   failed=dict(failed), examples=examples, calls=calls, at=now().isoformat())
    svc.app.save(job)
    return len(page.items)


def _since_filter(key: str) -> str | None:
    return None if key == ALL else key


def _list(svc: Services, entity: str) -> Callable[[str | None, str | None, int], ChangedPage[Any]]:
    listings: dict[str, Callable[[str | None, str | None, int], ChangedPage[Any]]] = {
        "account": svc.crm.changed_accounts, "order": svc.crm.changed_orders, "product": svc.crm.changed_products}
    return listings[entity]


def _load_page(svc: Services, entity: str, page: ChangedPage[Any], read_at: datetime, cid: str,
               redo: bool) -> tuple[Counter[str], list[dict[str, str]]]:
    """Each record through its normal command; a record's own failure is counted, not fatal."""
    usable: dict[str, Callable[[Any], bool]] = {"account": lambda _: True, "order": order_is_current(svc.app),
                                                "product": product_is_current(svc.app)}
    reads = PageReads(svc.crm, {r.crm_id: r for r in page.items}, usable[entity])
    local = replace(svc, crm=reads, clock=PageClock(read_at)) if entity == "account" else replace(svc, crm=reads)
    failed: Counter[str] = Counter()
    examples: list[dict[str, str]] = []

    def fail(crm_id: str, code: str, reason: str) -> None:
        failed[code] += 1
        examples.append({"crm_id": crm_id, "code": code, "reason": reason[:300]})

    for record in page.items:
        try:
            handle(_command(entity, record.crm_id, cid, redo and _unlinked(svc, entity, record.crm_id)), local)
        except RetryableError as exc:
            if exc.code not in WAITING_CODES:
                raise
            fail(record.crm_id, exc.code, exc.message)
        except (PermanentError, DomainError) as exc:
            fail(record.crm_id, getattr(exc, "code", "") or type(exc).__name__, str(exc))
    for crm_id, reason in page.invalid:
        fail(crm_id, "INVALID_DATA", reason)
    return failed, examples[:Backfill.EXAMPLES]


def _unlinked(svc: Services, entity: str, crm_id: str) -> bool:
    """An account a killed run registered but never saw linked: its create may have reached billing."""
    account = svc.app.get_or_none(Account, crm_id) if entity == "account" else None
    return account is not None and account.billing_id is None


def _command(entity: str, crm_id: str, cid: str, redo: bool) -> object:
    if entity == "order":
        return SyncOrderFromCrm(crm_id, cid)
    if entity == "product":
        return SyncProductFromCrm(crm_id, cid)
    # A whole-record read, as after a CDC gap event; its read is answered from the page. An account a
    # killed run left registered but unlinked is sent as a redelivery (attempt 2): its create looks in
    # billing first, in case the vendor's idempotency key has expired since (24 h).
    change = CrmChange("account", (crm_id,), "gap", {}, (0, 0), 0, None, f"backfill-{crm_id}", f"backfill-{crm_id}",
                       needs_fetch=True)
    return SyncAccountFromCrm(change, cid, attempt=2 if redo else 1)


def _pause(svc: Services, job: Backfill, reason: str, usage: ApiUsage, floor: int, cost: int,
           at: datetime) -> Backfill:
    resume_after = estimate_resume(job.recent, usage, floor, cost, at)
    job.pause(reason, usage.used, usage.limit, floor, resume_after, at.isoformat())
    svc.app.save(job)
    return job


def estimate_resume(recent: list[tuple[str, int]], usage: ApiUsage, floor: int, cost: int,
                    at: datetime) -> str | None:
    """When enough of THIS load's own calls will have left Salesforce's rolling 24 h window for one
    more page above the floor, assuming the org's other use stays level. None when this load's calls
    are not enough: Salesforce does not say when the org's other calls were made."""
    if usage.limit <= 0:
        return None  # the CRM did not say its usage
    need = usage.used - (usage.limit - floor - cost)
    if need <= 0:
        return at.isoformat()
    freed = 0
    for finished_at, calls in sorted(recent):
        freed += calls
        if freed >= need:
            return (datetime.fromisoformat(finished_at) + timedelta(seconds=Backfill.WINDOW_S)).isoformat()
    return None


def backfill_accounts(svc: Services, *, since: str, correlation_id: str, page_size: int = 200,
                      max_pages: int | None = None) -> Backfill:
    """The first session's account load (one whole-record read per account, no --since), kept as the
    baseline benchmarks/backfill.py measures against and to write old-shaped checkpoints in a
    compatibility test. Everything else calls run_backfill."""
    job = svc.app.get_or_none(Backfill, "account", since) or Backfill(entity="account", since=since)
    pages = 0
    while not job.done and (max_pages is None or pages < max_pages):
        page = svc.crm.list_accounts(job.cursor, page_size)
        for record in page.items:
            handle(_refetch(record.crm_id, correlation_id, force=False), svc)
        job.checkpoint(page.next_cursor, len(page.items))
        svc.app.save(job)
        pages += 1
    return job
