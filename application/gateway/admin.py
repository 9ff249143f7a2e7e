"""Registering gateway sources and rotating their keys (the `concord sources` CLI).

A key is shown once, at creation, and only its SHA-256 is stored. Rotation:
    rotate_key      -> a second key is added; both the old and the new key work
    finish_rotation -> the old key is dropped; only the newest works
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable

from application.errors import PermanentError
from application.gateway.events import hash_key
from application.gateway.ports import Source, SourceAdmin
from domain.errors import ValidationError

KEY_PREFIX = "cgk_"
# Sources concord itself (or AWS) publishes under: a registered system must never speak as them.
RESERVED_PREFIXES = ("concord.", "aws.")
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)+$")
_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def add_source(admin: SourceAdmin, *, name: str, source: str,
               event_names: Iterable[str]) -> tuple[Source, str]:
    """Register a source; returns it with its key (the only time the key is available)."""
    names = frozenset(n.strip() for n in event_names if n.strip())
    _check_source(name, source, names)
    key = new_key()
    record = Source(id=str(uuid.uuid4()), name=name.strip(), source=source, event_names=names,
                    key_hashes=(hash_key(key),))
    admin.add(record)
    return record, key


def rotate_key(admin: SourceAdmin, source_id: str) -> str:
    """Add a second key; the current one keeps working until finish_rotation."""
    current = admin.get(source_id)
    if len(current.key_hashes) >= 2:
        raise PermanentError("a rotation is already in progress: finish it first (--finish)",
                             system="concord", code="ROTATION_IN_PROGRESS")
    key = new_key()
    admin.replace_keys(source_id, current.key_hashes, (*current.key_hashes, hash_key(key)))
    return key


def finish_rotation(admin: SourceAdmin, source_id: str) -> Source:
    """Drop every key but the newest."""
    current = admin.get(source_id)
    if len(current.key_hashes) < 2:
        raise PermanentError("no rotation in progress", system="concord", code="NO_ROTATION")
    admin.replace_keys(source_id, current.key_hashes, current.key_hashes[-1:])
    return admin.get(source_id)


def _check_source(name: str, source: str, names: frozenset[str]) -> None:
    if not name.strip():
        raise ValidationError("name", "is required")
    if not _SOURCE.match(source):
        raise ValidationError("source", "must be a lower-case reverse domain name, e.g. com.example.carrier")
    if source.startswith(RESERVED_PREFIXES):
        reserved = ", ".join(RESERVED_PREFIXES)
        raise ValidationError("source", f"is reserved ({reserved} belong to concord and AWS)")
    if not names:
        raise ValidationError("event_names", "at least one event name is required")
    for event_name in sorted(names):
        if not _EVENT_NAME.match(event_name):
            raise ValidationError("event_names", f"{event_name!r} is not a valid event name")
