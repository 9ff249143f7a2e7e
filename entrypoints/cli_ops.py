"""The operations behind `concord history|lookup|status|dlq|credentials|notifications|sync|reconcile`."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any
from uuid import UUID

SANDBOXES = {
    "salesforce": "infrastructure.sandboxes.salesforce.cli",
    "zuora": "infrastructure.sandboxes.zuora.cli",
    "stripe": "infrastructure.sandboxes.stripe.cli",
}


def _print(args: argparse.Namespace, rows: Any, human: str) -> None:
    print(json.dumps(rows, indent=2, default=str) if getattr(args, "json", False) else human)


def needs_local(args: argparse.Namespace) -> int:
    print("the local stack needs the `local` extra: pip install -e '.[local]'", file=sys.stderr)
    return 2


def run_sandbox(argv: list[str]) -> int:
    if not argv or argv[0] not in SANDBOXES:
        print(f"usage: concord sandbox <{'|'.join(SANDBOXES)}> --port N [credentials] [faults]", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(SANDBOXES[argv[0]])
    return int(module.main(argv[1:]) or 0)


def sandbox(args: argparse.Namespace) -> int:  # reached only through main's passthrough
    return run_sandbox([args.vendor])


def add_read_parsers(sub: Any) -> None:
    history = sub.add_parser("history", help="the event history of an entity (any system's id)")
    history.add_argument("kind", choices=["account", "order", "product", "correlation"])
    history.add_argument("id")
    history.add_argument("--as-of", type=datetime.fromisoformat, default=None)
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=show_history)
    lookup = sub.add_parser("lookup", help="an entity's ids in every system")
    lookup.add_argument("system", help="crm | billing | billing_number | payment | <source name>")
    lookup.add_argument("id")
    lookup.add_argument("--json", action="store_true")
    lookup.set_defaults(func=show_lookup)
    status = sub.add_parser("status", help="queue and DLQ depths, token ages, last reconcile")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_ops("status"))
    dlq = sub.add_parser("dlq", help="dead letters").add_subparsers(dest="dlq_command", required=True)
    listing = dlq.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_ops("dlq_list"))
    show = dlq.add_parser("show")
    show.add_argument("queue")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_ops("dlq_show"))
    redrive = dlq.add_parser("redrive")
    redrive.add_argument("queue")
    redrive.set_defaults(func=_ops("dlq_redrive"))


def _iso_moment(text: str) -> str:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date or date/time") from None
    return text


def _ops(name: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from entrypoints import cli_aws

        result: int = getattr(cli_aws, name)(args)
        return result
    return run


def add_admin_parsers(sub: Any) -> None:
    credentials = sub.add_parser("credentials", help="vendor credentials into Secrets Manager (stdin or file)")
    credentials.add_argument("action", choices=["set", "rotate"])
    credentials.add_argument("system", choices=["salesforce", "zuora", "stripe", "stripe-webhook"])
    credentials.add_argument("--file", help="a JSON file; default: JSON on standard input (never argv)")
    credentials.set_defaults(func=_ops("credentials"))
    notifications = sub.add_parser("notifications").add_subparsers(dest="notifications_command", required=True)
    token = notifications.add_parser("token", help="a WebSocket JWT for a room")
    token.add_argument("--room", required=True)
    token.add_argument("--subject", default="operator")
    token.add_argument("--ttl", type=int, default=3600)
    token.set_defaults(func=_ops("notification_token"))
    salesforce = sub.add_parser("salesforce").add_subparsers(dest="salesforce_command", required=True)
    relay = salesforce.add_parser("setup-relay", help="the Salesforce side of Event Relay, then the AWS side")
    relay.add_argument("--dry-run", action="store_true")
    relay.add_argument("--json", action="store_true")
    relay.set_defaults(func=_ops("setup_relay"))
    sync = sub.add_parser("sync").add_subparsers(dest="sync_command", required=True)
    backfill = sync.add_parser("backfill", help="initial load from the CRM (resumable; exit 75 = paused at the "
                               "Salesforce quota floor, run again later)")
    backfill.add_argument("entity", choices=["account", "order", "product"])
    backfill.add_argument("--since", default=None, type=_iso_moment,
                          help="only records with LastModifiedDate >= this ISO 8601 date/time")
    # A page's query asks 2 rows more (the boundary row, and one telling whether a page follows): up
    # to 1998 a page fits Salesforce's largest query batch (2000), so one call.
    backfill.add_argument("--page-size", type=int, default=200, choices=range(1, 1999), metavar="N",
                          help="records a page, 1..1998 (a checkpoint after each)")
    backfill.add_argument("--json", action="store_true", help="a final JSON document on stdout")
    backfill.set_defaults(func=_ops("backfill"))
    reconcile = sub.add_parser("reconcile", help="compare CRM and billing; --repair issues the normal commands")
    reconcile.add_argument("--repair", action="store_true")
    reconcile.add_argument("--entity", default="account")
    reconcile.add_argument("--json", action="store_true")
    reconcile.set_defaults(func=_ops("reconcile"))


def _app() -> Any:
    from infrastructure.container import Container

    return Container().app()


def resolve(app: Any, kind: str, given: str) -> UUID | None:
    """Any system's id, a CRM id, or the aggregate id itself -> the aggregate id."""
    from application.correlation import ENTITY_KINDS, crm_id_for, lookup
    from domain.base import entity_id
    from domain.correlation import Correlation

    try:
        return UUID(given)
    except ValueError:
        pass
    entity = "account" if kind == "correlation" else kind
    found = [f for f in lookup(app, "crm", given) if f["entity"] == entity]
    if not found:
        for system in ("billing", "billing_number", "payment", "sku"):
            crm_id = crm_id_for(app, entity, system, given) if entity in ENTITY_KINDS else None
            if crm_id:
                found = [{"crm_id": crm_id}]
                break
    if not found:
        return None
    crm_id = str(found[0]["crm_id"])
    return Correlation.create_id(entity, crm_id) if kind == "correlation" else entity_id(entity, crm_id)


def show_history(args: argparse.Namespace) -> int:
    from application.app import history

    app = _app()
    aggregate_id = resolve(app, args.kind, args.id)
    entries = history(app, aggregate_id, args.as_of) if aggregate_id else []
    if not entries:
        print(f"no {args.kind} known by {args.id!r}", file=sys.stderr)
        return 1
    rows = [{"version": e.version, "event": e.event, "time": e.timestamp.isoformat(), "correlation_id":
             e.correlation_id, "position": e.source_position, "changes": e.changes} for e in entries]
    human = "\n".join(f"v{r['version']:<4} {r['time']}  {r['event']:<22} corr={r['correlation_id'] or '-'}  "
                      f"{json.dumps(r['changes'], default=str)[:140]}" for r in rows)
    _print(args, rows, human)
    return 0


def show_lookup(args: argparse.Namespace) -> int:
    from application.correlation import lookup

    found = lookup(_app(), args.system, args.id)
    if not found:
        print(f"nothing is known by {args.system} id {args.id!r}", file=sys.stderr)
        return 1
    human = "\n".join(f"{f['entity']} {f['crm_id']}: " + ", ".join(f"{k}={v}" for k, v in dict(f["ids"]).items())
                      for f in found)
    _print(args, found, human)
    return 0
