"""Reconcile N accounts per side on the Salesforce and Zuora sandboxes (issue 6): wall time, vendor
requests, peak memory, for two page sizes, to show memory follows the page size, not the record count.

The sandboxes run in a child process (so tracemalloc counts concord's reconcile only) and are seeded
in-process from the SAME canonical fields through the adapters' own mapping (account_to_sf,
account_create_payload), with 1% field drift, 0.5% missing in billing and 0.5% orphans in billing.
concord's Accounts and Correlation links (the event store: SQLite in memory) are seeded before
tracemalloc starts. The run is report-only (no --repair), as the scheduled daily run is. No rate
limiter: the sandboxes' limits are raised, and a bucket at a rate this high would keep a log of
up to rate x 1 s send times, which is the limiter's memory, not reconcile's.

Each page size runs with the batched billing read (BillingGateway.get_accounts: Object Query
`id.IN:[...]`, 99 ids a request); the first also runs with the old read, one account a CRM record
(`PerRecordReads` below turns get_accounts back into get_account calls), unless --no-per-record.
Zuora requests are counted on the client by kind (batched read, single read, listing) and on the
sandbox by route.
`--only-per-record` runs the baseline alone (at the first page size), for a separate run at large N.
`--untraced` runs without tracemalloc (which slows Python several times): wall time and requests only.
    .venv/bin/python benchmarks/reconcile.py [--no-per-record|--only-per-record] [--untraced] [records ...]
                                                                   (default: 10000 100000)
"""

from __future__ import annotations

import multiprocessing
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import replace
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


class PerRecordReads:
    """The billing gateway as reconcile used it before the batched read: one get_account a record."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get_accounts(self, wanted: Any) -> dict[str, Any]:
        return {billing_id: self.inner.get_account(billing_id) for billing_id in wanted}


ZUORA_KINDS: Counter[str] = Counter()


def _count_zuora_calls() -> None:
    """Classify every Zuora request the adapter makes (the sandbox's stats cannot tell a batched read
    from a listing page: both are GET /object-query/accounts)."""
    from adapters.billing.zuora.client import ZuoraClient

    call = ZuoraClient.call

    def counted(self: Any, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        params = dict(kwargs.get("params") or [])
        if path == "/object-query/accounts":
            kind = "batched read (id.IN)" if str(params.get("filter[]", "")).startswith("id.IN") else "list page"
        elif path.startswith("/object-query/accounts/"):
            kind = "single read"
        else:
            kind = f"{method} {path}"
        ZUORA_KINDS[kind] += 1
        return call(self, method, path, **kwargs)

    ZuoraClient.call = counted  # type: ignore[method-assign]


def _run(svc: Any, urls: dict[str, str], page: int, label: str, traced: bool) -> dict[str, Any]:
    from application.consistency import reconcile_accounts

    before, kinds_before = _stats(urls), Counter(ZUORA_KINDS)
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    report = reconcile_accounts(svc, repair=False, correlation_id=f"bench-{label}-{page}", page_size=page)
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    tracemalloc.stop()
    requests = _stats(urls) - before
    return {"wall": wall, "peak": peak, "requests": requests, "zuora": Counter(ZUORA_KINDS) - kinds_before,
            "drift": dict(report.counts)}


def measure(records: int, per_record: bool = True, traced: bool = True, only_per_record: bool = False) -> None:
    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(records, child), daemon=True)
    server.start()
    urls, links = parent.recv()
    svc = _services(urls, links)
    _count_zuora_calls()
    runs = [] if only_per_record else [(page, "batched", svc) for page in PAGES]
    if per_record:
        runs.append((PAGES[0], "per-record", replace(svc, billing=PerRecordReads(svc.billing))))
    results = {}
    for page, label, services in runs:
        result = results[(page, label)] = _run(services, urls, page, label, traced)
        memory = f"peak {result['peak'] / 2**20:6.1f} MiB" if traced else "untraced"
        print(
            f"records {records:>7} page {page:>5} {label:<10}: {result['wall']:7.1f} s, "
            f"{memory}, {sum(result['requests'].values())} vendor requests "
            f"{dict(result['requests'])}; zuora by kind {dict(result['zuora'])}; drift {result['drift']}",
            flush=True,
        )
    if per_record and not only_per_record:
        old, new = results[(PAGES[0], "per-record")], results[(PAGES[0], "batched")]
        print(f"records {records:>7} page {PAGES[0]}: per-record / batched = "
              f"{old['wall'] / new['wall']:.2f}x wall, "
              f"{sum(old['requests'].values()) / sum(new['requests'].values()):.2f}x vendor requests", flush=True)
    parent.send("stop")
    server.join(30)


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    for size in [int(a) for a in sys.argv[1:] if not a.startswith("--")] or [10_000, 100_000]:
        measure(size, per_record="--no-per-record" not in flags, traced="--untraced" not in flags,
                only_per_record="--only-per-record" in flags)
