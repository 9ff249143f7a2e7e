"""`concord sources add|rotate-key|list` and `concord destinations add|list` (DESIGN §8).

A source's key and a destination's signing secret are printed ONCE, at creation; only the key's hash
is stored. `sources rotate-key ID` adds a second key (both work); `--finish` drops the old one.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from application.delivery.admin import new_destination
from application.errors import IntegrationError
from application.gateway import Source
from application.gateway.admin import add_source, finish_rotation, rotate_key
from domain.errors import ValidationError

Factory = Callable[[], Any]


def _wired(name: str) -> Factory:
    def build() -> Any:
        from entrypoints.lambdas import _wiring_gateway as wiring  # deferred: boto3 only when a command runs

        return getattr(wiring, name)()
    return build


def add_parsers(subparsers: Any, *, sources: Factory | None = None,
                destinations: Factory | None = None) -> None:
    """Register the commands; `sources`/`destinations` build the tables (default: from settings)."""
    src, dst = sources or _wired("sources_table"), destinations or _wired("destinations_table")
    group = subparsers.add_parser("sources", help="gateway sources and their API keys").add_subparsers(
        dest="sources_command", required=True)
    add = group.add_parser("add", help="register a source; prints its key once")
    add.add_argument("--name", required=True)
    add.add_argument("--source", required=True,
                     help="the metadata.source it may publish, e.g. com.example.carrier")
    add.add_argument("--event-names", required=True, help="comma-separated eventNames it may publish")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=_run(lambda a: _sources_add(src(), a)))
    rotate = group.add_parser("rotate-key", help="add a second key (both work) or --finish the rotation")
    rotate.add_argument("source_id")
    rotate.add_argument("--finish", action="store_true", help="drop the old key; only the newest works")
    rotate.set_defaults(func=_run(lambda a: _sources_rotate(src(), a)))
    listing = group.add_parser("list", help="registered sources (never their keys)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_run(lambda a: _sources_list(src(), a)))
    _destination_parsers(subparsers, dst)


def _destination_parsers(subparsers: Any, dst: Factory) -> None:
    group = subparsers.add_parser("destinations", help="outbound HTTP destinations").add_subparsers(
        dest="destinations_command", required=True)
    add = group.add_parser("add", help="register a destination; prints its signing secret once")
    add.add_argument("--name", required=True)
    add.add_argument("--url", required=True)
    add.add_argument("--event-names", required=True,
                     help="comma-separated, e.g. Order.Activated,Account.Synced")
    add.add_argument("--auth", default="none", choices=["none", "api_key", "basic", "oauth"])
    add.add_argument("--auth-secret", help="Secrets Manager name of the auth material (not the material)")
    add.add_argument("--rate-limit", type=float, default=5.0, help="requests per second, per instance")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=_run(lambda a: _destinations_add(dst(), a)))
    listing = group.add_parser("list", help="registered destinations (never their secrets)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=_run(lambda a: _destinations_list(dst(), a)))


def _run(command: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            command(args)
        except (ValidationError, IntegrationError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    return run


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _sources_add(table: Any, args: argparse.Namespace) -> None:
    source, key = add_source(table, name=args.name, source=args.source, event_names=_names(args.event_names))
    if args.json:
        print(json.dumps({**_source_row(source), "key": key}))
        return
    names = ", ".join(sorted(source.event_names))
    print(f"source {source.name} ({source.id}) may publish {source.source}: {names}")
    print(f"key: {key}")
    print("This key is shown once and stored only as a hash: give it to the system now.")


def _sources_rotate(table: Any, args: argparse.Namespace) -> None:
    if args.finish:
        finish_rotation(table, args.source_id)
        print(f"rotation finished for {args.source_id}: only the newest key works now")
        return
    key = rotate_key(table, args.source_id)
    print(f"new key: {key}")
    print("Shown once. Both keys work until `concord sources rotate-key "
          f"{args.source_id} --finish`.")


def _source_row(source: Source) -> dict[str, Any]:
    return {"id": source.id, "name": source.name, "source": source.source,
            "eventNames": sorted(source.event_names), "keys": len(source.key_hashes),
            "rotating": len(source.key_hashes) > 1}


def _sources_list(table: Any, args: argparse.Namespace) -> None:
    rows = [_source_row(source) for source in table.list()]
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        flag = "  (rotating: 2 keys)" if row["rotating"] else ""
        print(f"{row['id']}  {row['name']:<20} {row['source']:<32} {','.join(row['eventNames'])}{flag}")


def _destinations_add(table: Any, args: argparse.Namespace) -> None:
    destination, secret = new_destination(name=args.name, url=args.url, event_names=_names(args.event_names),
                                          auth_kind=args.auth, auth_secret_ref=args.auth_secret,
                                          rate_per_s=args.rate_limit)
    table.add(destination)
    if args.json:
        print(json.dumps({"id": destination.id, "signingSecret": secret}))
        return
    print(f"destination {destination.name} ({destination.id}) -> {destination.url}")
    print(f"signing secret: {secret}")
    print("Shown once: the receiver verifies Concord-Signature with it (HMAC-SHA256 of 't.body').")


def _destinations_list(table: Any, args: argparse.Namespace) -> None:
    rows = [{"id": d.id, "name": d.name, "url": d.url, "eventNames": sorted(d.event_names),
             "auth": d.auth_kind, "authSecret": d.auth_secret_ref, "ratePerSecond": d.rate_per_s,
             "signingSecrets": len(d.signing_secrets)} for d in table.list()]
    if args.json:
        print(json.dumps(rows))
        return
    for row in rows:
        print(f"{row['id']}  {row['name']:<20} {row['url']:<40} {','.join(row['eventNames'])}  "
              f"auth={row['auth']} rate={row['ratePerSecond']}/s")
