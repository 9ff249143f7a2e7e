"""1,000 account syncs against the vendor sandboxes with 50 ms added latency (issue 4).

    .venv/bin/python benchmarks/account_sync.py [N] [--workers W] [--vendor zuora|stripe]
                                                [--phases create,update]

The application use case (application.handlers.handle with SyncAccountFromCrm, built from the CDC that
the Salesforce sandbox emitted for a CRM user's change, parsed by the Salesforce adapter's CDC parser)
with the real adapters built as infrastructure/wiring.py builds them (SalesforceCrm on SalesforceHttp,
ZuoraBilling on ZuoraClient or StripeBilling on StripeHttp, each with its TokenBucket) and eventsourcing's
in-memory event store. The billing sandbox runs in its own process (`concord sandbox ...`), so its request
handling does not share this process's interpreter lock with the callers; the Salesforce sandbox runs in
this process (it only serves the setup and the token: a CDC change with its fields needs no CRM read).
Both get `POST /__sandbox/faults {"latency_ms": 50}` once the accounts exist.

Per phase, in the same run: a one-sync-at-a-time baseline on N accounts, then the same use case from a
thread pool of W workers on N other accounts, within the vendor's rate limit (TokenBucket at the vendor's
documented rate: Zuora 50,000 requests/min, Stripe 25/s in test mode). Phases:
    create   N new CRM accounts (CDC CREATE): one billing create each
    update   one field changed on each (CDC UPDATE): one billing update each
Printed: wall time, syncs/s and the speedup; vendor requests per account from each sandbox's
`/__sandbox/stats` (target: exactly one write per changed account; reads only where DESIGN §3 asks).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LATENCY = {"latency_ms": 50}
VENDOR_RATE_PER_S = {"zuora": 50_000 / 60, "stripe": 25.0, "salesforce": 100.0}
SF_ID, SF_SECRET = "3MVG9bench.account-sync", "bench-sf-secret"
ZUORA_ID, ZUORA_SECRET, STRIPE_KEY = "bench-zuora-client", "bench-zuora-secret", "sk_test_bench"


@dataclass
class BillingProcess:
    """A billing sandbox in its own process, as `concord sandbox <vendor>` runs it."""

    vendor: str
    url: str
    process: subprocess.Popen[str]

    @classmethod
    def start(cls, vendor: str) -> BillingProcess:
        credentials = (["--api-key", STRIPE_KEY] if vendor == "stripe"
                       else ["--client-id", ZUORA_ID, "--client-secret", ZUORA_SECRET])
        process = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "sandbox", vendor, "--port", "0",
                                    *credentials], cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
        assert process.stdout is not None
        line = process.stdout.readline()  # "<vendor> sandbox on http://127.0.0.1:<port>"
        if "http://" not in line:
            process.kill()
            raise RuntimeError(f"the {vendor} sandbox did not start: {line!r}")
        # Drain what it prints later: a full pipe would block the sandbox mid-answer.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        return cls(vendor, line.split()[-1], process)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def admin(url: str, path: str, body: dict[str, Any] | None = None) -> Any:
    response = httpx.post(f"{url}{path}", json=body) if body is not None else httpx.get(f"{url}{path}")
    response.raise_for_status()
    return response.json()


def build_services(salesforce_url: str, billing: BillingProcess, rate_scale: float = 1.0) -> Any:
    """The ports as infrastructure/wiring.py builds them, with tokens fetched from the sandboxes."""
    from adapters.crm.salesforce.auth import SalesforceAuth
    from adapters.crm.salesforce.client import SalesforceHttp
    from adapters.crm.salesforce.gateway import SalesforceCrm
    from adapters.outbound import FetchingTokens, StaticTokens, TokenBucket
    from application.app import ConcordApp
    from application.services import Services

    auth = SalesforceAuth(salesforce_url, SF_ID, client_secret=SF_SECRET)
    crm = SalesforceCrm(SalesforceHttp(salesforce_url, tokens=FetchingTokens(auth.fetch_pair),
                                       call_client="concord",
                                       bucket=TokenBucket(VENDOR_RATE_PER_S["salesforce"] * rate_scale)))
    bucket = TokenBucket(VENDOR_RATE_PER_S[billing.vendor] * rate_scale)
    if billing.vendor == "stripe":
        from adapters.billing.stripe.client import StripeHttp
        from adapters.billing.stripe.gateway import StripeBilling

        gateway: Any = StripeBilling(StripeHttp(billing.url, tokens=StaticTokens({"stripe": STRIPE_KEY}),
                                                bucket=bucket))
    else:
        from adapters.billing.zuora import ZuoraAuth, ZuoraBilling, ZuoraClient

        tokens = ZuoraAuth(billing.url, ZUORA_ID, ZUORA_SECRET).tokens()
        gateway = ZuoraBilling(ZuoraClient(billing.url, tokens=tokens, bucket=bucket))
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    return Services(app=app, crm=crm, billing=gateway, integration_client="concord")


class Crm:
    """A CRM user on the Salesforce sandbox (client "ui", so never taken for concord's own echo); every
    CDC envelope the sandbox emits is kept, keyed by record id and change type."""

    def __init__(self) -> None:
        from infrastructure.sandboxes.salesforce import SalesforceSandbox

        self.events: dict[tuple[str, str], dict[str, Any]] = {}
        self.sandbox = SalesforceSandbox(SF_ID, SF_SECRET, events_to=self._keep)
        self.url = self.sandbox.start()
        token = httpx.post(f"{self.url}/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SF_ID, "client_secret": SF_SECRET}).json()
        self.http = httpx.Client(base_url=self.url, timeout=30, headers={
            "Authorization": f"Bearer {token['access_token']}", "Sforce-Call-Options": "client=ui"})

    def _keep(self, envelope: dict[str, Any]) -> None:
        header = envelope["detail"]["payload"]["ChangeEventHeader"]
        for record_id in header["recordIds"]:
            self.events[(record_id, header["changeType"])] = envelope

    def create_accounts(self, count: int, tag: str) -> list[str]:
        ids = []
        for n in range(count):
            answer = self.http.post("/services/data/v60.0/sobjects/Account/", json={
                "Name": f"Sync {tag}{n} GmbH", "CurrencyIsoCode": "EUR",
                "Billing_Email__c": f"ap-{tag}{n}@example.de",
                "Phone": "+49 30 1234567", "BillingStreet": "Unter den Linden 1", "BillingCity": "Berlin",
                "BillingPostalCode": "10117", "BillingCountryCode": "DE"})
            answer.raise_for_status()
            ids.append(str(answer.json()["id"]))
        return ids

    def change_phone(self, crm_ids: list[str]) -> None:
        for n, crm_id in enumerate(crm_ids):
            self.http.patch(f"/services/data/v60.0/sobjects/Account/{crm_id}",
                            json={"Phone": f"+49 30 {n:07d}"}).raise_for_status()

    def commands(self, crm_ids: list[str], change: str) -> list[Any]:
        """SyncAccountFromCrm per account, from the CDC envelope (as the account Lambda builds it)."""
        from adapters.crm.salesforce.cdc import parse_change
        from application.commands import SyncAccountFromCrm

        return [SyncAccountFromCrm(parse_change(self.events[(crm_id, change)]), f"bench-{crm_id}")
                for crm_id in crm_ids]


def run(services: Any, commands: list[Any], workers: int) -> tuple[float, Counter[str]]:
    """Wall time of handling every command (a pool of `workers`, or one at a time) and the outcomes."""
    from application.handlers import handle

    outcomes: Counter[str] = Counter()

    def one(command: Any) -> None:
        for outcome in handle(command, services):  # type: ignore[union-attr]
            outcomes[outcome.action] += 1

    started = time.perf_counter()
    if workers == 1:
        for command in commands:
            one(command)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(one, commands))
    return time.perf_counter() - started, outcomes


def counted(urls: dict[str, str], action: Callable[[], Any]) -> tuple[Any, dict[str, Counter[str]]]:
    """What `action` cost each sandbox, by route, from the difference of its /__sandbox/stats."""
    before = {name: Counter(admin(url, "/__sandbox/stats")) for name, url in urls.items()}
    result = action()
    after = {name: Counter(admin(url, "/__sandbox/stats")) for name, url in urls.items()}
    return result, {name: Counter({route: n for route, n in (after[name] - before[name]).items()
                                   if "__sandbox" not in route}) for name in urls}


def print_requests(requests: dict[str, Counter[str]], accounts: int) -> None:
    for name, routes in requests.items():
        writes = sum(n for route, n in routes.items() if not route.startswith(("GET", "fault")))
        reads = sum(n for route, n in routes.items() if route.startswith("GET"))
        print(f"      {name:<10} {writes / accounts:5.2f} writes/account, "
              f"{reads / accounts:5.2f} reads/account")
        for route, n in sorted(routes.items()):
            print(f"          {route:<58} {n:6d}  {n / accounts:5.2f}/account")


def phase(name: str, services: Any, urls: dict[str, str], batches: tuple[list[Any], list[Any]],
          workers: int) -> None:
    (sequential, seq_outcomes), seq_requests = counted(urls, lambda: run(services, batches[0], 1))
    (concurrent, con_outcomes), con_requests = counted(urls, lambda: run(services, batches[1], workers))
    count = len(batches[0])
    print(f"\n{name}: {count} syncs per run, 50 ms added latency on every vendor request")
    print(f"  one at a time (baseline)   {sequential:7.2f} s  {count / sequential:7.1f} syncs/s  "
          f"outcomes {dict(seq_outcomes)}")
    print_requests(seq_requests, count)
    print(f"  {workers} workers (concurrent)    {concurrent:7.2f} s  {count / concurrent:7.1f} syncs/s  "
          f"outcomes {dict(con_outcomes)}")
    print_requests(con_requests, count)
    print(f"  speedup: {sequential / concurrent:.1f}x "
          f"(concurrent wall time = {concurrent / sequential:.3f} of the baseline)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("count", nargs="?", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--vendor", choices=("zuora", "stripe"), default="zuora")
    parser.add_argument("--phases", default="create,update")
    args = parser.parse_args()
    crm, billing = Crm(), BillingProcess.start(args.vendor)
    try:
        services = build_services(crm.url, billing)
        urls = {"salesforce": crm.url, args.vendor: billing.url}
        started = time.perf_counter()
        warm, first, second = (crm.create_accounts(n, tag) for n, tag in ((5, "w"), (args.count, "a"),
                                                                          (args.count, "b")))
        print(f"setup: {2 * args.count + 5} CRM accounts in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        run(services, crm.commands(warm, "CREATE"), 1)  # tokens and connections, before any timing
        for url in urls.values():
            admin(url, "/__sandbox/faults", LATENCY)
        if "create" in args.phases:
            phase("CDC CREATE -> billing account created", services, urls,
                  (crm.commands(first, "CREATE"), crm.commands(second, "CREATE")), args.workers)
        if "update" in args.phases:
            for url in urls.values():
                admin(url, "/__sandbox/faults", {})  # the CRM user's edits are setup: no added latency
            crm.change_phone(first + second)
            for url in urls.values():
                admin(url, "/__sandbox/faults", LATENCY)
            phase("CDC UPDATE (Phone) -> billing account updated", services, urls,
                  (crm.commands(first, "UPDATE"), crm.commands(second, "UPDATE")), args.workers)
        print(json.dumps({"billing_rate_per_s": VENDOR_RATE_PER_S[args.vendor], "workers": args.workers}))
    finally:
        billing.stop()
        crm.sandbox.stop()


if __name__ == "__main__":
    main()
