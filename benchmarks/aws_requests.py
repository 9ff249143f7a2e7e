"""AWS requests per synced account event on the WARM path (issue 3), counted with botocore's event hooks.

    .venv/bin/python benchmarks/aws_requests.py [N]          # default N = 50 events per phase

The account function runs in this process with exactly its deployed environment (CONCORD_EVENT_STORE=dynamodb
on moto in server mode, the real Salesforce and Zuora adapters on their sandboxes, tokens through the
Parameters and Secrets extension stand-in). Every botocore session created from here on carries a
`before-send` handler (a session-level hook: each attempt that goes on the wire counts, retries included),
and the extension's HTTP API counts the token reads that reach it. After one warm-up batch (the cold start,
not counted), three phases, each N events in SQS batches of 10 (the mapping's BatchSize), built from
real CDC that a CRM user's changes sent through Event Relay and the bus rules:
    create   N new accounts (CDC CREATE with fields: no CRM read; one billing create each)
    update   one field changed on each of them (CDC UPDATE: one billing update each)
    outbox   the events table's stream of those syncs through the outbox relay (BatchSize 100)
Printed: requests per event by service and operation, and PutEvents per published domain event.
Targets (issue 3): one event-store write per event, no token read (cached), PutEvents amortised.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.cold_start import CHILD, LambdaStack, Scenario, run_fresh  # noqa: E402 - after the path fix


class RequestCounter:
    """Counts `before-send` per "service.Operation" while active; installed on every new botocore session."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.active = False

    def __call__(self, event_name: str, request: Any = None, **kwargs: Any) -> None:
        if self.active:
            _, service, operation = event_name.split(".", 2)
            self.counts[f"{service}.{operation}{_key_space(operation, request)}"] += 1

    def install(self) -> None:
        import botocore.session

        original = botocore.session.Session.__init__
        counter = self

        def init(session: Any, *args: Any, **kwargs: Any) -> None:
            original(session, *args, **kwargs)
            session.register("before-send", counter)

        botocore.session.Session.__init__ = init  # type: ignore[method-assign]

    @contextmanager
    def window(self) -> Iterator[Counter[str]]:
        self.counts = Counter()
        self.active = True
        try:
            yield self.counts
        finally:
            self.active = False


def _key_space(operation: str, request: Any) -> str:
    """For event-store reads, which items: "[concord_snapshots#e]" (the pk up to the originator id)."""
    if operation not in ("Query", "GetItem") or request is None or not request.body:
        return ""
    try:
        body = json.loads(request.body)
    except ValueError:
        return ""
    values = [v.get("S", "") for v in (body.get("ExpressionAttributeValues") or {}).values()]
    values += [v.get("S", "") for v in (body.get("Key") or {}).values()]
    spaces = ["#".join(v.split("#")[:2]) for v in values if "#" in v]
    return f"[{spaces[0]}]" if spaces else ""


def extension_reads(stack: LambdaStack) -> Callable[[], int]:
    """Wraps the extension stand-in's answer() to count every token or secret read the function makes."""
    calls = [0]
    answer = stack.extension.answer

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return answer(*args, **kwargs)

    stack.extension.answer = counted  # type: ignore[method-assign]
    return lambda: calls[0]


def account_messages(scenario: Scenario, crm_ids: list[str], change: str) -> list[dict[str, Any]]:
    """The Lambda SQS records of one CDC event per account (CREATE or UPDATE), as the bus delivered them."""
    from infrastructure.local.sqs_source import lambda_record

    queue, wanted = scenario.topology.queues["AccountQueue"], set(crm_ids)
    found: dict[str, dict[str, Any]] = {}
    for _ in range(100):
        answer = scenario.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                              AttributeNames=["All"], MessageAttributeNames=["All"])
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            ids = wanted.intersection(_ids(body))
            if ids and _change(body) == change:
                found[ids.pop()] = lambda_record(message, queue.arn, scenario.stack.aws.region)
        if len(found) == len(wanted):
            return [found[crm_id] for crm_id in crm_ids]
    raise RuntimeError(f"only {len(found)} of {len(wanted)} {change} events reached the account queue")


def _ids(body: dict[str, Any]) -> list[str]:
    return list(body.get("detail", {}).get("payload", {}).get("ChangeEventHeader", {}).get("recordIds", []))


def _change(body: dict[str, Any]) -> str:
    return str(body.get("detail", {}).get("payload", {}).get("ChangeEventHeader", {}).get("changeType", ""))


def create_accounts(scenario: Scenario, count: int, tag: str) -> list[str]:
    return [scenario.crm.create("Account", {
        "Name": f"Requests {tag}{n} Ltd", "CurrencyIsoCode": "EUR",
        "Billing_Email__c": f"ap{tag}{n}@example.com", "BillingStreet": "2 High St", "BillingCity": "Dublin",
        "BillingPostalCode": "D02", "BillingCountryCode": "IE",
    }) for n in range(count)]


def run_batches(handler: Callable[..., Any], records: list[dict[str, Any]], size: int) -> tuple[int, int]:
    """Invokes the handler on batches of `size`; returns (failed records, envelopes published)."""
    failures = published = 0
    for start in range(0, len(records), size):
        result = handler({"Records": records[start:start + size]}, None)
        failures += len(result.get("batchItemFailures") or [])
        published += int(result.get("published") or 0)
    return failures, published


def report(title: str, counts: Counter[str], events: int, token_reads: int, failures: int) -> None:
    total = sum(counts.values())
    print(f"\n{title}: {events} events, {total} AWS requests = {total / events:.2f} per event; "
          f"token/secret reads through the extension: {token_reads}; failed records: {failures}")
    for operation, number in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {operation:<42} {number:6d}  {number / events:6.2f} per event")


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    counter = RequestCounter()
    counter.install()
    stack = LambdaStack.start()
    try:
        scenario = stack.scenario()
        # Logs at WARNING: the function's INFO lines (one per vendor request) would bury the numbers.
        env = stack.environment("AccountFunction", CONCORD_LOG_LEVEL="WARNING")
        run_fresh(CHILD, "entrypoints.lambdas.access_manager.handler", {"reason": "schedule"},
                  stack.environment("AccessManagerFunction"))  # tokens in SSM, as the schedule leaves them
        os.environ.clear()
        os.environ.update(env)  # this process is now the account function's execution environment
        reads = extension_reads(stack)
        measure(scenario, counter, reads, count)
    finally:
        stack.stop()


def measure(scenario: Scenario, counter: RequestCounter, reads: Callable[[], int], count: int) -> None:
    from entrypoints.lambdas import account, outbox_relay

    warm = account_messages(scenario, create_accounts(scenario, 1, "warm"), "CREATE")
    run_batches(account.handler, warm, 10)  # the cold start: container, clients, first token reads
    run_batches(outbox_relay.handler, scenario.stream_records(), 100)  # and the relay's
    crm_ids = create_accounts(scenario, count, "n")
    for change, make in (("CREATE", None), ("UPDATE", True)):
        if make:
            for n, crm_id in enumerate(crm_ids):
                scenario.crm.update("Account", crm_id, {"Phone": f"+353 1 555 {n:04d}"})
        records = account_messages(scenario, crm_ids, change)
        before = reads()
        with counter.window() as counts:
            failures, _ = run_batches(account.handler, records, 10)
        report(f"account function, CDC {change} (warm)", counts, len(records), reads() - before, failures)
    stream = scenario.stream_records()
    before = reads()
    with counter.window() as counts:
        failures, published = run_batches(outbox_relay.handler, stream, 100)
    report(f"outbox relay, {len(stream)} stream records of those {2 * count} syncs (warm)", counts, 2 * count,
           reads() - before, failures)
    calls = counts.get("eventbridge.PutEvents", 0)
    print(f"    PutEvents: {calls} calls for {published} domain events published "
          f"({published / max(calls, 1):.1f} entries per call, "
          f"{calls / (2 * count):.2f} calls per synced event)")


if __name__ == "__main__":
    main()
