"""`concord replay`: re-deliver a time window of the bus archive to concord's service queues (issue 6).

    concord replay --from 2026-11-22T09:00:00Z --to 2026-11-22T10:00:00Z
                   [--bus-archive NAME] [--name NAME] [--all-rules] [--wait] [--json]

EventBridge StartReplay sends the archived events of the window back to the bus they came from. By
default only the rules that feed the service queues (account, order, product, correlation) get them:
their handlers absorb a repeat (per-field positions, whole-object versions, id claims: DESIGN §3).
The write-back, notification and delivery rules do not, since their effects reach people and partners;
`--all-rules` sends to every rule of the bus. The replay name is derived from the window, so running
the same command twice starts nothing new (it reports the replay already made).

Wiring: entrypoints/cli.py `build_parser` calls `cli_replay.add_parsers(sub)`. The archive defaults to
`concord-<stage>-bus-archive`, an AWS::Events::Archive on concord's bus that template.yaml declares.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

SERVICE_QUEUES = ("account", "order", "product", "correlation")
TERMINAL = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


def add_parsers(sub: Any) -> None:
    replay = sub.add_parser("replay", help="re-deliver a window of archived bus events to the service queues")
    replay.add_argument(
        "--from", dest="start", required=True, type=parse_time, help="ISO 8601; UTC if no offset"
    )
    replay.add_argument("--to", dest="end", required=True, type=parse_time)
    replay.add_argument("--bus-archive", dest="archive", help="default: concord-<stage>-bus-archive")
    replay.add_argument("--name", help="default: derived from the window (the same window is replayed once)")
    replay.add_argument(
        "--all-rules", action="store_true", help="every rule of the bus, not only the queues'"
    )
    replay.add_argument(
        "--wait", action="store_true", help="until the replay is COMPLETED, CANCELLED or FAILED"
    )
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(func=run)


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def replay_name(start: datetime, end: datetime) -> str:
    """Within EventBridge's 64 characters of [.-_A-Za-z0-9]."""
    return f"concord-replay-{start.astimezone(UTC):%Y%m%dT%H%M%S}-{end.astimezone(UTC):%Y%m%dT%H%M%S}"


def service_rule_arns(events: Any, bus_name: str, stage: str) -> list[str]:
    """The rules of the bus whose target is one of the service queues (their handlers are idempotent)."""
    queues = {f"concord-{stage}-{name}" for name in SERVICE_QUEUES}
    found: list[str] = []
    for page in events.get_paginator("list_rules").paginate(EventBusName=bus_name):
        for rule in page["Rules"]:
            targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus_name)["Targets"]
            if any(target["Arn"].rsplit(":", 1)[-1] in queues for target in targets):
                found.append(rule["Arn"])
    return found


def start_replay(
    events: Any, *, archive: str, start: datetime, end: datetime, name: str, filter_arns: list[str] | None
) -> dict[str, Any]:
    """StartReplay onto the archive's own bus; a replay of that name already made is reported, not redone."""
    if end <= start:
        raise ValueError("--to must be after --from")
    source = events.describe_archive(ArchiveName=archive)
    destination: dict[str, Any] = {"Arn": source["EventSourceArn"]}
    if filter_arns is not None:
        destination["FilterArns"] = filter_arns
    try:
        events.start_replay(
            ReplayName=name,
            EventSourceArn=source["ArchiveArn"],
            EventStartTime=start,
            EventEndTime=end,
            Destination=destination,
            Description=f"concord replay {start.isoformat()} .. {end.isoformat()}",
        )
        already = False
    except events.exceptions.ResourceAlreadyExistsException:
        already = True
    return {**_describe(events, name), "alreadyExisted": already}


def wait_for(events: Any, name: str, timeout_s: float = 3600, poll_s: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        described = _describe(events, name)
        if described["State"] in TERMINAL or time.monotonic() > deadline:
            return described
        time.sleep(poll_s)


def _describe(events: Any, name: str) -> dict[str, Any]:
    answer = events.describe_replay(ReplayName=name)
    keys = (
        "ReplayName",
        "ReplayArn",
        "State",
        "StateReason",
        "EventStartTime",
        "EventEndTime",
        "EventLastReplayedTime",
        "ReplayStartTime",
        "ReplayEndTime",
    )
    return {key: answer[key] for key in keys if key in answer}


def run(args: argparse.Namespace) -> int:
    from infrastructure.settings import Settings
    from infrastructure.wiring import aws_client

    settings, events = Settings(), aws_client("events")
    filters = None if args.all_rules else service_rule_arns(events, settings.bus_name, settings.stage)
    if filters == []:
        print(
            f"no rule on {settings.bus_name} targets the service queues; nothing replayed (see --all-rules)"
        )
        return 2
    try:
        result = start_replay(
            events,
            archive=args.archive or f"concord-{settings.stage}-bus-archive",
            start=args.start,
            end=args.end,
            name=args.name or replay_name(args.start, args.end),
            filter_arns=filters,
        )
    except ValueError as exc:
        print(str(exc))
        return 2
    if args.wait:
        result = {**result, **wait_for(events, result["ReplayName"])}
    human = (
        f"replay {result['ReplayName']}: {result['State']}"
        f"{' (made before: nothing new started)' if result['alreadyExisted'] else ''}"
        f" to {'every rule' if filters is None else f'{len(filters)} service-queue rules'}"
    )
    print(json.dumps(result, indent=2, default=str) if args.json else human)
    return 0 if result["State"] not in ("FAILED", "CANCELLED") else 1
