"""Reconcile N accounts per side on the Salesforce and Zuora sandboxes (issue 6): wall time, vendor
requests, peak memory, for two page sizes, to show memory follows the page size, not the record count.

The sandboxes run in a child process (so tracemalloc counts concord's reconcile only) and are seeded
in-process from the SAME canonical fields through the adapters' own mapping (account_to_sf,
account_create_payload), with 1% field drift, 0.5% missing in billing and 0.5% orphans in billing.
concord's Accounts and Correlation links (the event store: SQLite in memory) are seeded before
tracemalloc starts. The run is report-only (no --repair), as the scheduled daily run is. No rate
limiter: the sandboxes' limits are raised, and a bucket at a rate this high would keep a log of
up to rate x 1 s send times, which is the limiter's memory, not reconcile's.
    .venv/bin/python benchmarks/reconcile.py [records ...]      (default: 10000 100000)
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import tracemalloc
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import httpx

PAGES = (1000, 2000)  # CRM page sizes; Zuora's object query pages are at most 99 whatever is asked
SF_ID, SF_SECRET, ZU_ID, ZU_SECRET = "3MVG9bench", "bench-secret", "bench-zuora", "bench-zuora-secret"


def _fields(n: int) -> dict[str, Any]:
    return {
        "name": f"Bench {n} Ltd",
        "currency": "EUR",
        "email": f"ap{n}@bench.example",
        "phone": f"+49 {n}",
        "bill_to.city": "Berlin",
        "bill_to.street": f"{n} Main St",
        "bill_to.country": "DE",
        "status": "active",
        "payment_terms": "Net 30",
    }


def _seed(salesforce: Any, zuora: Any, records: int) -> list[tuple[int, str, str | None, str | None]]:
    from adapters.billing.zuora.mapping import account_create_payload
    from adapters.crm.salesforce.mapping import account_to_sf
    from infrastructure.sandboxes.salesforce.store import Transaction
    from infrastructure.sandboxes.zuora.accounts import create_account

    links = []
    for n in range(records):
        fields = _fields(n)
        crm_id = salesforce.org.insert("Account", account_to_sf(fields), Transaction(None))
        if n % 200 == 7:
            links.append((n, crm_id, None, None))  # missing in billing
            continue
        billed = {**fields, "name": f"Bench {n} Drifted"} if n % 100 == 3 else fields
        created = create_account(zuora.tenant, account_create_payload(crm_id, billed))
        links.append((n, crm_id, created["accountId"], created["accountNumber"]))
    for n in range(records // 200):  # billing accounts no CRM record knows
        create_account(zuora.tenant, account_create_payload(f"001ORPHAN{n:09d}", _fields(n)))
    return links


def _serve(records: int, conn: Connection) -> None:
    from infrastructure.sandboxes.salesforce import SalesforceSandbox
    from infrastructure.sandboxes.zuora import ZuoraSandbox

    salesforce = SalesforceSandbox(SF_ID, SF_SECRET, daily_limit=10**9, page_size=2000)
    zuora = ZuoraSandbox(ZU_ID, ZU_SECRET, rate_limit=(10**9, 60))
    links = _seed(salesforce, zuora, records)
    conn.send(({"salesforce": salesforce.start(), "zuora": zuora.start()}, links))
    conn.recv()  # until the parent is done
    salesforce.stop()
    zuora.stop()


def _services(urls: dict[str, str], links: list[tuple[int, str, str | None, str | None]]) -> Any:
    from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient
    from adapters.crm.salesforce.auth import SalesforceAuth
    from adapters.crm.salesforce.client import SalesforceHttp
    from adapters.crm.salesforce.gateway import SalesforceCrm
    from adapters.outbound import FetchingTokens
    from application.app import ConcordApp
    from application.correlation import link_ids
    from application.services import Services
    from domain.account import Account
    from domain.sync import fetched_position

    # concord as after a backfill: an Account per CRM record, linked to its billing account, in SQLite
    # (in memory: SQLite's own allocations are not Python's, so tracemalloc sees concord alone). The
    # POPO store would not do: every read of an aggregate without snapshots adds an entry to its
    # snapshot index (a defaultdict), about 250 bytes a record, which is the fake store, not reconcile.
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                          "SQLITE_DBNAME": "file:bench?mode=memory&cache=shared"})
    for n, crm_id, billing_id, number in links:
        account = Account.register(crm_id, _fields(n), fetched_position(0), "seed")
        if billing_id is None or number is None:
            app.save(account)
            continue
        account.link_billing(billing_id, number, "seed")
        app.save(account, *link_ids(app, "account", crm_id, {"billing": billing_id, "billing_number": number},
                                    "seed"))
    auth = SalesforceAuth(urls["salesforce"], SF_ID, client_secret=SF_SECRET)
    crm = SalesforceCrm(SalesforceHttp(urls["salesforce"], tokens=FetchingTokens(auth.fetch_pair)))
    tokens = ZuoraAuth(urls["zuora"], ZU_ID, ZU_SECRET).tokens()
    return Services(app, crm, ZuoraBilling(ZuoraClient(urls["zuora"], tokens=tokens)))


def _stats(urls: dict[str, str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for system, url in urls.items():
        for route, n in httpx.get(f"{url}/__sandbox/stats").json().items():
            if not route.startswith(("GET ^/__sandbox", "fault")):
                counts[f"{system} {route.split(' ', 1)[0]} {_short(route)}"] += n
    return counts


def _short(route: str) -> str:
    path = route.split(" ", 1)[1].strip("^$")
    for marker in ("object-query/accounts/", "object-query/accounts", "query", "oauth"):
        if marker in path:
            return marker.rstrip("/") + (" (one)" if marker.endswith("/") else "")
    return path


def measure(records: int) -> None:
    from application.consistency import reconcile_accounts

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(records, child), daemon=True)
    server.start()
    urls, links = parent.recv()
    svc = _services(urls, links)
    for page in PAGES:
        before = _stats(urls)
        tracemalloc.start()
        started = time.perf_counter()
        report = reconcile_accounts(svc, repair=False, correlation_id=f"bench-{page}", page_size=page)
        wall = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        requests = _stats(urls) - before
        print(
            f"records {records:>7} page {page:>5}: {wall:7.1f} s, peak {peak / 2**20:6.1f} MiB, "
            f"{sum(requests.values())} vendor requests {dict(requests)}; drift {dict(report.counts)}"
        )
    parent.send("stop")
    server.join(30)


if __name__ == "__main__":
    for size in [int(a) for a in sys.argv[1:]] or [10_000, 100_000]:
        measure(size)
