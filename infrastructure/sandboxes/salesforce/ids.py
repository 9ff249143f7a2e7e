"""Salesforce record ids: a 3-character key prefix naming the object, 18 characters in all.

The last three characters are Salesforce's case-safe checksum of the 15-character id (one letter
per block of five, encoding which of its characters are upper case), so ids the sandbox mints
look and validate like the vendor's.
"""

from __future__ import annotations

import itertools
import threading

KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Order": "801",
    "OrderItem": "802",
    "Product2": "01t",
    "PricebookEntry": "01u",
    "Pricebook2": "01s",
    "User": "005",
    "Organization": "00D",
    # Tooling objects setup-relay touches (prefixes as seen in Setup URLs; not all are documented).
    "NamedCredential": "0XA",
    "PlatformEventChannel": "0YL",
    "PlatformEventChannelMember": "0v8",
    "EventRelayConfig": "7k2",
}
EVENT_PREFIX = "e00"  # platform event records (never queryable, ids only echo the publish)
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def checksum(id15: str) -> str:
    """The 3-character suffix that turns a 15-character id into the case-insensitive 18-character one."""
    suffix = ""
    for block in range(3):
        bits = 0
        for position, char in enumerate(id15[block * 5:block * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _SUFFIX[bits]
    return suffix


def is_valid_id(value: str) -> bool:
    """15 alphanumerics, or 18 whose last three are the checksum of the first fifteen."""
    if not value.isalnum() or len(value) not in (15, 18):
        return False
    return len(value) == 15 or checksum(value[:15]) == value[15:]


def prefix_of(value: str) -> str:
    return value[:3]


class IdMinter:
    """Mints sequential ids per prefix, on a pod-like infix, as an org would."""

    def __init__(self, pod: str = "5g") -> None:
        self._pod = pod
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def mint(self, prefix: str) -> str:
        with self._lock:
            number = next(self._counter)
        digits = ""
        for _ in range(9):
            number, rest = divmod(number, 62)
            digits = _ALPHABET[rest] + digits
        id15 = f"{prefix}{self._pod}0{digits}"[:15]
        return id15 + checksum(id15)
