"""Item layout: keys, attribute names, builders and the DynamoDB size limits (see EVENTSTORE.md).

Every item has pk (S) and sk (N). `ns` is a recorder's namespace, "<app>_events", "<app>_snapshots":

    pk = "<ns>#e#<originator id>"  sk = first version   hi = last version, ev = frame   one per save
    pk = "<ns>#h#<originator id>"  sk = 0               hi = last version               aggregate head
    pk = "<ns>#n"                  sk = 0               n = last notification id        counter
    pk = "<ns>#log"                sk = first id        hi = last id, ev = frame        one per save
    pk = "<app>_tracking#<upstream app>"  sk = 0        n = max tracking id
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DataError

PK, SK, HI, EV, N = "pk", "sk", "hi", "ev", "n"

MAX_ITEM_BYTES = 400 * 1024
"""DynamoDB's item size limit, attribute names included."""
MAX_TRANSACTION_ACTIONS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024

Item = dict[str, Any]


class SaveTooLargeError(DataError):
    """A save cannot be one DynamoDB transaction: too many bytes in one item, or too many aggregates.

    Splitting it would give up atomicity, so it is refused. Save fewer or smaller events at once
    (take snapshots, keep large documents outside the event) or fewer aggregates per save.
    """


def events_pk(ns: str, originator_id: UUID | str) -> str:
    return f"{ns}#e#{originator_id}"


def head_pk(ns: str, originator_id: UUID | str) -> str:
    return f"{ns}#h#{originator_id}"


def counter_pk(ns: str) -> str:
    return f"{ns}#n"


def log_pk(ns: str) -> str:
    return f"{ns}#log"


def tracking_pk(ns: str, application_name: str) -> str:
    return f"{ns}#{application_name}"


def key(pk: str, sk: int = 0) -> Item:
    return {PK: {"S": pk}, SK: {"N": str(sk)}}


def num(value: int) -> Item:
    return {"N": str(value)}


def read_num(item: Item | None, name: str) -> int | None:
    if not item or name not in item:
        return None
    return int(item[name]["N"])


def range_item(pk: str, first: int, last: int, frame: bytes) -> Item:
    """An item holding the events (or notifications) first..last of one save."""
    item = {**key(pk, first), HI: num(last), EV: {"B": frame}}
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        raise SaveTooLargeError(
            f"Save needs a {size}-byte item ({pk}, {first}..{last}); DynamoDB's limit is "
            f"{MAX_ITEM_BYTES} bytes per item. Save fewer or smaller events at once."
        )
    return item


@dataclass(frozen=True)
class RangeItem:
    first: int
    last: int
    frame: bytes


def parse_range_item(item: Item) -> RangeItem:
    return RangeItem(first=int(item[SK]["N"]), last=int(item[HI]["N"]), frame=bytes(item[EV]["B"]))


def item_size(item: Item) -> int:
    """DynamoDB's item size: names plus values; a number counts about one byte per two digits."""
    size = 0
    for name, value in item.items():
        ((kind, data),) = value.items()
        size += len(name.encode())
        if kind == "N":
            size += len(data.lstrip("-")) // 2 + 2
        elif kind == "S":
            size += len(data.encode())
        else:
            size += len(data)
    return size


def check_transaction(actions: list[Item]) -> None:
    """Refuse, before sending, a transaction DynamoDB would reject for its size."""
    if len(actions) > MAX_TRANSACTION_ACTIONS:
        raise SaveTooLargeError(
            f"Save needs {len(actions)} transaction actions (2 per aggregate, plus the notification "
            f"counter, log and tracking items); DynamoDB allows {MAX_TRANSACTION_ACTIONS}. "
            "Save at most 48 aggregates at once."
        )
    total = sum(item_size(action["Put"]["Item"]) for action in actions if "Put" in action)
    if total > MAX_TRANSACTION_BYTES:
        raise SaveTooLargeError(
            f"Save is {total} bytes; a DynamoDB transaction allows {MAX_TRANSACTION_BYTES}."
        )
