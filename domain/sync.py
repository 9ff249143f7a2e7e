"""The rules that keep data right (DESIGN §3): ownership, positions, no-ops, echo suppression.

Positions. Salesforce CDC carries only changed fields; each field keeps the position of the last
change applied to it, so a late older event still applies its *other* fields:

    field      stored position     incoming event (pos 7, older than 9)
    name       9  ("Acme Ltd")     name="Acme"   -> stale, ignored
    phone      4  ("+44 1")        phone="+44 2" -> newer than 4, applied

A position is (commit timestamp ms, commitNumber, sequenceNumber). A record read whole from the
CRM (after a GAP_/OVERFLOW event) is placed after every CDC event of its second
(`fetched_position`). Billing objects are applied whole and ordered by their own version
(`object_is_newer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.canonical import ACCOUNT_FIELDS, BILLING_ACCOUNT_FIELDS
from domain.values import System

Position = tuple[int, int, int]
FETCHED = 2**62  # commitNumber/sequenceNumber of a whole-record read: after every CDC event of that instant


@dataclass(frozen=True)
class CrmChange:
    """A CRM change event in canonical terms (the Salesforce adapter's cdc.py builds it)."""

    entity: str  # "account" | "order" | "product" | "order_line" | "price"
    crm_ids: tuple[str, ...]
    change_type: str  # "create" | "update" | "delete" | "undelete" | "gap" | "overflow"
    fields: Mapping[str, Any]
    position: tuple[int, int]  # (commitNumber, sequenceNumber)
    committed_at_ms: int
    origin_client: str | None
    transaction_key: str
    event_id: str
    needs_fetch: bool = False

    @property
    def field_position(self) -> Position:
        return (self.committed_at_ms, self.position[0], self.position[1])


def fetched_position(modified_at_ms: int, read_at_ms: int = 0) -> Position:
    """The position of a whole-record read.

    Salesforce keeps LastModifiedDate to the second while CDC commitTimestamp has milliseconds: a
    read at 10:00:05 holds every change committed up to 10:00:05.999 that it saw, so it is placed at
    the END of its second, after all of that second's CDC events. A change committed in that second
    after the read is therefore ambiguous: `is_read_ambiguous` says so, and the caller reads again;
    reads of one second are ordered by `read_at_ms`.
    """
    end = modified_at_ms + 999 if modified_at_ms % 1000 == 0 else modified_at_ms
    return (end, FETCHED, read_at_ms)


def is_read_ambiguous(positions: Mapping[str, list[int]], fields: Mapping[str, Any], committed_at_ms: int) -> bool:
    """A CDC change committed in the same second as a whole-record read of one of its fields."""
    second = committed_at_ms // 1000
    return any(len(p) == 3 and p[1] == FETCHED and p[0] // 1000 == second
               for name in fields if (p := positions.get(name)) is not None)


def is_echo(change: CrmChange, integration_client: str) -> bool:
    """A change concord itself made in the CRM (Sforce-Call-Options client=...): never synced back."""
    return bool(integration_client) and change.origin_client == integration_client


OWNERSHIP: dict[str, dict[str, System]] = {
    "account": {
        **{name: System.CRM for name in ACCOUNT_FIELDS},
        **{name: System.BILLING for name in BILLING_ACCOUNT_FIELDS},
    },
}


def owner_of(entity: str, field_name: str) -> System | None:
    return OWNERSHIP.get(entity, {}).get(field_name)


@dataclass(frozen=True)
class FieldMerge:
    """What a partial update does to an aggregate's fields."""

    changes: dict[str, Any] = field(default_factory=dict)  # fields whose value changes
    positions: dict[str, list[int]] = field(default_factory=dict)  # new positions of those fields
    stale: tuple[str, ...] = ()  # older than (or equal to) the field's last position
    not_owned: tuple[str, ...] = ()  # sent by a system that does not own them
    unchanged: tuple[str, ...] = ()  # newer, but the value is already what it says

    @property
    def is_noop(self) -> bool:
        return not self.changes


def merge_fields(entity: str, current: Mapping[str, Any], positions: Mapping[str, list[int]],
                 incoming: Mapping[str, Any], position: Position, source: System) -> FieldMerge:
    """Decide, field by field, which incoming values apply (ownership, then position, then value)."""
    changes: dict[str, Any] = {}
    new_positions: dict[str, list[int]] = {}
    stale: list[str] = []
    not_owned: list[str] = []
    unchanged: list[str] = []
    for name, value in incoming.items():
        if owner_of(entity, name) != source:
            not_owned.append(name)
        elif name in positions and tuple(positions[name]) >= position:
            stale.append(name)
        elif current.get(name) == value:
            unchanged.append(name)
        else:
            changes[name] = value
            new_positions[name] = list(position)
    return FieldMerge(changes, new_positions, tuple(stale), tuple(not_owned), tuple(unchanged))


def object_is_newer(incoming_version: str, applied_version: str | None) -> bool:
    """Whole-object ordering for billing objects: numbers compare as numbers, else as ISO text."""
    if not applied_version:
        return True
    if incoming_version.isdigit() and applied_version.isdigit():
        return int(incoming_version) > int(applied_version)
    return incoming_version > applied_version
