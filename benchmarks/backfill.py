"""The initial load on the Salesforce sandbox (issue 6): CRM API calls of an uninterrupted backfill,
and of one killed at random pages and resumed, measured in the same run.

The org is seeded in-process (no API calls) with N accounts, 20 products with a price each, and N
orders of one or two lines (activated). concord runs in this process on the real Salesforce adapter
over HTTP, with an in-memory event store and an in-memory billing system (billing calls are counted
too). For each entity (accounts, products, then orders, in the order a real load needs) the
uninterrupted baseline is measured on a fresh concord; then each kill scenario loads the same org on
another fresh concord, killing the run (SystemExit inside a record's sync, as a kill -9 would leave
it: the page's checkpoint not saved) at random records, and running it again until it is done.

"CRM calls" are what Salesforce's daily quota counts: the sandbox's count of /services/data calls
(the token endpoint is not in the quota).
    PYTHONPATH=. .venv/bin/python benchmarks/backfill.py [N] [page_size] [seed]   (default 2000 200 7)
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

SF_ID, SF_SECRET = "3MVG9bench", "bench-secret"
PRODUCTS = 20


def _seed(salesforce: Any, records: int) -> None:
    from adapters.crm.salesforce.mapping import account_to_sf
    from infrastructure.sandboxes.salesforce.store import Transaction

    org, tx = salesforce.org, Transaction(None)
    accounts = [org.insert("Account", account_to_sf({"name": f"Bench {n} Ltd", "currency": "EUR",
                                                     "email": f"ap{n}@bench.example"}), tx)
                for n in range(records)]
    entries = []
    for n in range(PRODUCTS):
        product = org.insert("Product2", {"Name": f"Widget {n}", "ProductCode": f"SKU-{n}", "IsActive": True}, tx)
        entries.append(org.insert("PricebookEntry", {
            "Product2Id": product, "Pricebook2Id": org.standard_pricebook_id, "CurrencyIsoCode": "EUR",
            "IsActive": True, "UnitPrice": 10.0 + n, "Billing_Period__c": "Month"}, tx))
    for n in range(records):
        order = org.insert("Order", {"AccountId": accounts[n], "EffectiveDate": date(2026, 12, 1).isoformat(),
                                     "Status": "Draft", "CurrencyIsoCode": "EUR", "Term_Months__c": 12}, tx)
        for line in range(1 + n % 2):
            entry = entries[(n + line) % PRODUCTS]
            org.insert("OrderItem", {"OrderId": order, "PricebookEntryId": entry, "Quantity": 1 + line,
                                     "UnitPrice": org.get("PricebookEntry", entry)["UnitPrice"]}, tx)
        org.update("Order", order, {"Status": "Activated"}, tx)


@dataclass
class Concord:
    services: Any
    billing: Any


def _concord(url: str) -> Concord:
    from adapters.crm.salesforce.auth import SalesforceAuth
    from adapters.crm.salesforce.client import SalesforceHttp
    from adapters.crm.salesforce.gateway import SalesforceCrm
    from adapters.memory.billing import MemoryBilling
    from adapters.outbound import FetchingTokens
    from application.app import ConcordApp
    from application.services import Services

    auth = SalesforceAuth(url, SF_ID, client_secret=SF_SECRET)
    crm = SalesforceCrm(SalesforceHttp(url, tokens=FetchingTokens(auth.fetch_pair)))
    billing = MemoryBilling()
    return Concord(Services(ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), crm, billing), billing)


class Kill(SystemExit):
    pass


def _load(concord: Concord, entity: str, page_size: int, kill_after: list[int]) -> tuple[int, int]:
    """Run (and rerun after each kill) until done: (runs, records handled in all runs)."""
    import application.backfill as backfill

    real, handled, runs = backfill.handle, 0, 0
    pending = sorted(kill_after)
    while True:
        runs += 1
        budget = pending.pop(0) if pending else None
        count = 0

        def killing(command: Any, svc: Any, budget: int | None = budget) -> Any:
            nonlocal count
            if budget is not None and count == budget:
                raise Kill("killed")
            count += 1
            return real(command, svc)

        backfill.handle = killing
        try:
            job = backfill.run_backfill(concord.services, entity, since=None, correlation_id="bench",
                                        page_size=page_size)
        except Kill:
            continue
        finally:
            backfill.handle = real
            handled += count
        assert job.done and not job.failed, (job.failed, job.examples)
        return runs, handled


def _calls(sandbox: Any) -> int:
    return len(sandbox.calls)


def _billing_calls(concord: Concord) -> int:
    return sum(concord.billing.calls.values())


def main() -> None:
    from infrastructure.sandboxes.salesforce import SalesforceSandbox

    records = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    page_size = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 7)
    sandbox = SalesforceSandbox(SF_ID, SF_SECRET, daily_limit=10**9, page_size=2000)
    _seed(sandbox, records)
    url = sandbox.start()
    scenarios = (1, 1, 2, 3)  # kills per load
    baseline = _concord(url)
    killed = [_concord(url) for _ in scenarios]
    print(f"N={records} accounts and orders, {PRODUCTS} products, page size {page_size}, Salesforce sandbox "
          f"over HTTP, billing in memory")
    print(f"{'entity':<8} {'kills':>5} {'runs':>4} {'CRM calls':>9} {'vs base':>7} {'handled':>7} "
          f"{'billing calls':>13} {'vs base':>7} {'wall s':>6}")
    try:
        for entity, size in (("account", records), ("product", PRODUCTS), ("order", records)):
            before, billing_before, started = _calls(sandbox), _billing_calls(baseline), time.perf_counter()
            _load(baseline, entity, page_size, [])
            base = _calls(sandbox) - before
            base_billing = _billing_calls(baseline) - billing_before
            print(f"{entity:<8} {0:>5} {1:>4} {base:>9} {1.0:>7.3f} {size:>7} {base_billing:>13} {1.0:>7.3f} "
                  f"{time.perf_counter() - started:>6.1f}")
            for kills, concord in zip(scenarios, killed, strict=True):
                # each run is killed after a random number of records (not past the end: every kill happens)
                points = [rng.randrange(1, max(2, size // (kills + 1))) for _ in range(kills)]
                before, billing_before, started = _calls(sandbox), _billing_calls(concord), time.perf_counter()
                runs, handled = _load(concord, entity, page_size, points)
                calls, billing = _calls(sandbox) - before, _billing_calls(concord) - billing_before
                print(f"{entity:<8} {runs - 1:>5} {runs:>4} {calls:>9} {calls / base:>7.3f} {handled:>7} "
                      f"{billing:>13} {billing / max(1, base_billing):>7.3f} {time.perf_counter() - started:>6.1f}")
        old = _concord(url)  # the first backfill, for comparison: one whole-record read an account
        from application.backfill import backfill_accounts

        before, started = _calls(sandbox), time.perf_counter()
        backfill_accounts(old.services, since="old", correlation_id="bench", page_size=page_size)
        print(f"account (first backfill, a read per record, no kill): {_calls(sandbox) - before} CRM calls, "
              f"{time.perf_counter() - started:.1f} s")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
