"""CLI operations that talk to AWS (or the local stack's moto): status, dead letters, credentials."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from infrastructure.settings import Settings
from infrastructure.wiring import aws_client


def _settings() -> Settings:
    return Settings()


def _print(args: argparse.Namespace, rows: Any, human: str) -> None:
    print(json.dumps(rows, indent=2, default=str) if getattr(args, "json", False) else human)


def _queues(prefix: str) -> dict[str, str]:
    sqs = aws_client("sqs")
    urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    return {url.rsplit("/", 1)[-1]: url for url in urls}


def _depth(url: str) -> int:
    attributes = aws_client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def status(args: argparse.Namespace) -> int:
    settings = _settings()
    queues = {name: _depth(url) for name, url in sorted(_queues(f"concord-{settings.stage}-").items())}
    tokens = {}
    for system in ("salesforce", "zuora"):
        try:
            parameter = aws_client("ssm").get_parameter(Name=settings.token_path(system), WithDecryption=False)
            modified = parameter["Parameter"]["LastModifiedDate"]
            tokens[system] = f"{(datetime.now(UTC) - modified).total_seconds():.0f}s old"
        except Exception as exc:  # an absent token is a status, not a crash
            tokens[system] = f"absent ({type(exc).__name__})"
    last = _last_reconciliations()
    rows = {"queues": queues, "tokens": tokens, "last_reconcile": last}
    human = "\n".join([*(f"{name:<40} {depth}" for name, depth in queues.items()),
                       *(f"token {s:<34} {age}" for s, age in tokens.items()),
                       *(f"last reconcile {entity:<25} {_run_line(run)}" for entity, run in last.items())])
    _print(args, rows, human)
    return 0


def _last_reconciliations() -> dict[str, Any]:
    """The last run of each entity (account, order, product), or why it cannot be read."""
    try:
        from application.consistency import ENTITIES, last_reconciliation

        svc = _services()
        return {entity: last_reconciliation(svc, entity) for entity in ENTITIES}
    except Exception as exc:  # the store may be unreachable: status still shows the queues
        return {"error": type(exc).__name__}


def _run_line(run: Any) -> str:
    if not isinstance(run, dict):
        return "never" if run is None else str(run)
    counts = ", ".join(f"{kind} {n}" for kind, n in sorted(run.get("counts", {}).items())) or "no drift"
    return (f"{run.get('finished_at', '?')}: {run.get('records', {}).get('crm', 0)} CRM records, {counts}, "
            f"repaired {run.get('repaired', 0)}")


def _dead_letter_queues() -> dict[str, str]:
    return {n: u for n, u in _queues(f"concord-{_settings().stage}-").items() if n.endswith("-dlq")}


def dlq_list(args: argparse.Namespace) -> int:
    rows = {name: _depth(url) for name, url in sorted(_dead_letter_queues().items())}
    _print(args, rows, "\n".join(f"{name:<40} {depth}" for name, depth in rows.items()))
    return 0


def _dlq_url(queue: str) -> str:
    queues = _dead_letter_queues()
    name = queue if queue in queues else f"concord-{_settings().stage}-{queue.removesuffix('-dlq')}-dlq"
    if name not in queues:
        raise SystemExit(f"no dead-letter queue {queue!r}; known: {', '.join(sorted(queues))}")
    return queues[name]


def _peek(url: str) -> list[dict[str, Any]]:
    sqs = aws_client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(20):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5,
                                    MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen[message["MessageId"]] = message
    for message in seen.values():  # make them visible again: show does not consume
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return list(seen.values())


NO_REASON = ("no reason recorded: the queue moved it after its maxReceiveCount receives, each ending without "
             "an answer from the function (killed, timed out or out of memory); see the function's logs")


def _reason(message: dict[str, Any]) -> str:
    """concord's own dead letters carry a `reason` attribute; the queue's redrive cannot say why."""
    attributes = message.get("MessageAttributes") or {}
    given = (attributes.get("reason") or {}).get("StringValue")
    return str(given) if given else NO_REASON


def dlq_show(args: argparse.Namespace) -> int:
    messages = _peek(_dlq_url(args.queue))
    rows = [{"messageId": m["MessageId"], "reason": _reason(m), "body": m["Body"][:500]} for m in messages]
    _print(args, rows, "\n".join(f"{r['messageId']}  {r['reason']}" for r in rows) or "empty")
    return 0


def dlq_redrive(args: argparse.Namespace) -> int:
    """Back to the service queue; the handlers' positions and idempotency keys make a replay harmless."""
    sqs = aws_client("sqs")
    url = _dlq_url(args.queue)
    target = url.removesuffix("-dlq")
    moved = 0
    for _ in range(1000):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not batch:
            break
        for message in batch:
            sqs.send_message(QueueUrl=target, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    print(f"redrove {moved} message(s) to {target.rsplit('/', 1)[-1]}")
    return 0


def credentials(args: argparse.Namespace) -> int:
    """Read JSON from a file or stdin (never argv, so it stays out of shell history and ps); never echo it."""
    from infrastructure.wiring import credential_store

    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = sys.stdin.read()
    try:
        values = json.loads(text)
    except ValueError:
        print("credentials must be a JSON object, e.g. {\"client_id\": \"...\", \"client_secret\": \"...\"}",
              file=sys.stderr)
        return 2
    store = credential_store(_settings())
    version = store.set(args.system, values) if args.action == "set" else store.rotate(args.system, values)
    print(f"{args.action}: {args.system} credentials stored (version {version}); values not shown")
    return 0


def notification_token(args: argparse.Namespace) -> int:
    from adapters.ws_tokens import issue

    secret = aws_client("secretsmanager").get_secret_value(
        SecretId=f"concord/{_settings().stage}/websocket-jwt")["SecretString"]
    print(issue(secret, subject=args.subject, room=args.room, ttl_s=args.ttl))
    return 0


def setup_relay(args: argparse.Namespace) -> int:
    """Idempotent: each step reads what exists first; a second run reports every step as `exists`."""
    from dataclasses import asdict

    from adapters.crm.salesforce.relay import RelayPlan, format_steps
    from adapters.crm.salesforce.relay import setup_relay as run_setup
    from infrastructure.container import Container

    identity = aws_client("sts").get_caller_identity()
    plan = RelayPlan(aws_account=identity["Account"], aws_region=aws_client("events").meta.region_name)
    steps = run_setup(Container().crm().http, plan, events=aws_client("events"), dry_run=args.dry_run)
    _print(args, [asdict(step) for step in steps], format_steps(steps))
    return 0


def _services() -> Any:
    from infrastructure.container import Container

    return Container().services()


def backfill(args: argparse.Namespace) -> int:
    """Resumable: after a kill or a pause at the quota floor, the same command continues from its
    last finished page. Exit 0: done; 1: done, some records failed (listed); 75 (EX_TEMPFAIL): paused
    at the Salesforce quota floor, run again later."""
    import uuid

    from application.backfill import run_backfill
    from entrypoints.progress import Bar

    svc, bar = _services(), Bar(sys.stderr)
    try:
        job = run_backfill(svc, args.entity, since=args.since, correlation_id=f"backfill-{uuid.uuid4()}",
                           page_size=args.page_size, floor=_settings().salesforce_quota_floor, progress=bar)
    finally:
        bar.close()
    failed = sum(job.failed.values())
    usage = svc.crm.api_usage()
    result = {"entity": job.entity, "since": None if job.since == "all" else job.since, "done": job.done,
              "loaded": job.loaded, "failed": job.failed, "failed_examples": job.examples,
              "total_at_start": job.total, "pages": job.pages, "paused": job.paused,
              "api_usage": {"used": usage.used, "limit": usage.limit} if usage else None}
    code = 75 if job.paused is not None else (1 if failed else 0)
    _print(args, {**result, "exit_code": code}, _backfill_summary(job, failed))
    return code


def _backfill_summary(job: Any, failed: int) -> str:
    lines = [f"backfill {job.entity}: {job.loaded:,} loaded, {failed:,} failed, {job.pages:,} pages"]
    lines += [f"  failed {e['crm_id']}: {e['code']} {e['reason']}" for e in job.examples]
    if job.paused is not None:
        p = job.paused
        lines.append(f"paused ({p['reason']}): Salesforce API usage {p['used']:,}/{p['limit']:,}, "
                     f"floor {p['floor']:,} kept for live sync.")
        lines.append(f"Run the same command again to continue from page {job.pages + 1}: "
                     + (f"from about {p['resume_after']} (when this load's own calls have left Salesforce's "
                        "rolling 24 h window, if the org's other use stays level)." if p["resume_after"] else
                        "Salesforce does not say when the org's other calls were made; each leaves the rolling "
                        "24 h window a day after it was made. Try again in an hour or two."))
    elif not job.done:
        lines.append("stopped; run the same command again to resume")
    return "\n".join(lines)


UNREPAIRED = ("repair_failed", "unrepaired", "check_failed")


def reconcile(args: argparse.Namespace) -> int:
    """`--entity account|order|product|all`; exit 1 when drift is left (reported, or not repaired)."""
    import uuid

    from application.consistency import ENTITIES
    from application.consistency import reconcile as run

    if args.entity not in (*ENTITIES, "all"):
        print(f"unknown entity {args.entity!r}: one of {', '.join(ENTITIES)}, or all", file=sys.stderr)
        return 2
    reports = run(_services(), args.entity, repair=args.repair, correlation_id=f"reconcile-{uuid.uuid4()}",
                  progress=lambda r: print(f"  ... {r.entity}: {r.records['crm']} CRM records compared",
                                           file=sys.stderr))
    rows = {r.entity: r.as_dict() for r in reports}
    human = "\n".join(
        f"{r.entity}: {r.records['crm']} CRM records, repaired {r.repaired}\n"
        + ("\n".join(f"  {kind:<24} {count}" for kind, count in sorted(r.counts.items())) or "  no drift")
        for r in reports)
    _print(args, rows[args.entity] if args.entity != "all" else rows, human)
    left = [r for r in reports if (r.counts and not args.repair) or any(r.counts[k] for k in UNREPAIRED)]
    return 1 if left else 0
