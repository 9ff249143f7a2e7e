"""Initial load (issue 6): every CRM record through the normal commands, checkpointed per page."""

from __future__ import annotations

from application.consistency import _refetch
from application.handlers import handle
from application.services import Services
from domain.runs import Backfill


def backfill_accounts(svc: Services, *, since: str, correlation_id: str, page_size: int = 200,
                      max_pages: int | None = None) -> Backfill:
    """Load every CRM account through the normal sync, checkpointing after each page (resumable)."""
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
