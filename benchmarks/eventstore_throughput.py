"""DynamoDB event store numbers, against a SQLite baseline measured in the same run.

    .venv/bin/python -m benchmarks.eventstore_throughput [--appends 300] [--events 10000]

Prints appends per second (one new aggregate per save) and the time to load one aggregate of 1,000
and of --events events, without and with a snapshot, for eventsourcing's SQLite recorder and for
ours on moto in server mode (tests/support/moto_server.py, in its own process), plus what each
DynamoDB load costs on the wire: Query requests, items read and read units (strongly consistent:
1 RCU per 4 KB per request). Those are what DynamoDB bills and what its latency follows, and they
are flat with a snapshot. moto's wall-clock is not: its Query walks and sorts every item of the
table (O(table), where DynamoDB is O(log n + items returned)), so moto timings are a regression
baseline, not an AWS forecast.

The long aggregate reaches DynamoDB through the recorder's own item builders and BatchWriteItem,
one item per event: exactly the layout of --events one-event saves (the slowest case to read),
without making moto process --events transactions first.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event


class Tally(Aggregate):
    def __init__(self) -> None:
        self.count = 0

    @event("Incremented")
    def increment(self) -> None:
        self.count += 1


class Tallies(Application[UUID]):
    is_snapshotting_enabled = True


def median_seconds(action: Callable[[], Any], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def appends_per_second(app: Tallies, count: int) -> float:
    app.save(Tally())  # warm-up: table creation, first connection
    started = time.perf_counter()
    for _ in range(count):
        app.save(Tally())
    return count / (time.perf_counter() - started)


def build_tally(app: Tallies, length: int) -> UUID:
    tally = Tally()
    for _ in range(length - 1):
        tally.increment()
    if app.factory.__class__.__module__.startswith("adapters.aws"):
        seed_one_item_per_event(app, tally.collect_events())
    else:
        app.save(tally)
    return tally.id


def seed_one_item_per_event(app: Tallies, events: Sequence[Any]) -> None:
    from adapters.aws.dynamodb_eventstore import DynamoDBApplicationRecorder
    from adapters.aws.dynamodb_eventstore.codec import encode_events
    from adapters.aws.dynamodb_eventstore.items import events_pk, head_pk, key, num, range_item

    recorder = app.recorder
    assert isinstance(recorder, DynamoDBApplicationRecorder)
    stored = [app.mapper.to_stored_event(e) for e in events]
    items = [
        range_item(
            events_pk(recorder.ns, s.originator_id),
            s.originator_version,
            s.originator_version,
            encode_events([s]),
        )
        for s in stored
    ]
    items.append(
        {**key(head_pk(recorder.ns, stored[0].originator_id)), "hi": num(stored[-1].originator_version)}
    )
    client, table = recorder.table.client, recorder.table.name
    for start in range(0, len(items), 25):
        batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table: batch})


class QueryMeter:
    """Counts the Query requests, items and read units of a DynamoDB client, from its responses."""

    def __init__(self, app: Tallies) -> None:
        self.requests = self.items = self.rcu = 0
        self.client = getattr(getattr(app.recorder, "table", None), "client", None)  # snapshots share it

    def __enter__(self) -> QueryMeter:
        if self.client is not None:
            self.client.meta.events.register("after-call.dynamodb.Query", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        if self.client is not None:
            self.client.meta.events.unregister("after-call.dynamodb.Query", self._count)

    def _count(self, parsed: dict[str, Any], **_: Any) -> None:
        from adapters.aws.dynamodb_eventstore.items import item_size

        self.requests += 1
        self.items += parsed.get("Count", 0)
        self.rcu += max(1, math.ceil(sum(item_size(i) for i in parsed.get("Items", [])) / 4096))

    def reading(self) -> str:
        return f"{self.requests} / {self.items} / {self.rcu}"


def load_times(app: Tallies, length: int, row: dict[str, Any]) -> None:
    """Time (and meter) loading a tally of `length` events, without and then with a snapshot.

    The median of 3 loads; the first is metered, and checked to be the whole aggregate.
    """
    tally_id = build_tally(app, length)
    for label in (f"{length} events", f"{length} events, snapshot"):
        if label.endswith("snapshot"):
            app.take_snapshot(tally_id)
        with QueryMeter(app) as meter:
            first = median_seconds(lambda: app.repository.get(tally_id), repeat=1)
        assert app.repository.get(tally_id).version == length
        row[label] = statistics.median(
            [first, *(median_seconds(lambda: app.repository.get(tally_id), 1) for _ in range(2))]
        )
        row[label + " wire"] = meter.reading() if meter.requests else "-"


def measure(env: dict[str, str], appends: int, lengths: list[int]) -> dict[str, Any]:
    app = Tallies(env=env)
    row: dict[str, Any] = {"appends/s": appends_per_second(app, appends)}
    for length in lengths:
        load_times(app, length, row)
    app.close()
    return row


def print_table(rows: dict[str, dict[str, Any]], lengths: list[int]) -> None:
    sqlite, dynamo = rows["sqlite"], rows["dynamodb (moto)"]
    print(f"{'appends/s (one save each)':34}{'sqlite':>10}{'dynamodb/moto':>15}{'ratio':>9}")
    print(
        f"{'':34}{sqlite['appends/s']:>10.1f}{dynamo['appends/s']:>15.1f}"
        f"{dynamo['appends/s'] / sqlite['appends/s']:>8.2f}x"
    )
    print(
        f"\n{'load one aggregate (ms)':34}{'sqlite':>10}{'dynamodb/moto':>15}{'ratio':>9}"
        f"   DynamoDB Query requests / items / RCU"
    )
    for label in [k for k in sqlite if k != "appends/s" and not k.endswith(" wire")]:
        print(
            f"{label:34}{sqlite[label] * 1000:>10.1f}{dynamo[label] * 1000:>15.1f}"
            f"{dynamo[label] / sqlite[label]:>8.1f}x   {dynamo[label + ' wire']}"
        )
    short, long = lengths
    print()
    for store, row in rows.items():
        grow = row[f"{long} events"] / row[f"{short} events"]
        grow_snap = row[f"{long} events, snapshot"] / row[f"{short} events, snapshot"]
        print(
            f"{store}: load time {long} vs {short} events: {grow:.1f}x without snapshot, "
            f"{grow_snap:.1f}x with one"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--appends", type=int, default=300)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from infrastructure.local.moto_process import start_moto_process

    server = start_moto_process()  # its own process: not sharing our interpreter lock
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=server.url,
    )
    lengths = [1_000, args.events]
    with tempfile.TemporaryDirectory() as tmp:
        stores = {
            "sqlite": {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": f"{tmp}/bench.db"},
            "dynamodb (moto)": {
                "PERSISTENCE_MODULE": "adapters.aws.dynamodb_eventstore",
                "DYNAMODB_TABLE": "bench-events",
            },
        }
        rows = {name: measure(env, args.appends, lengths) for name, env in stores.items()}
    server.stop()
    print_table(rows, lengths)


if __name__ == "__main__":
    main()
