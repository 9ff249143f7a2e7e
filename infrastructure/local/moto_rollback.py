"""Item-level rollback for moto 5.2's TransactWriteItems (see moto_server.py for why).

Only safe while requests are serialised, as `start_moto_server` does: the switch that makes moto skip
its table copy is process-wide for the duration of one transaction.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

_installed = False


class _CopyWithoutTables:
    """Stands in for the `copy` module inside moto.dynamodb.models: deepcopy passes tables through
    while a wrapped transaction runs, and copies everything else as usual."""

    def __init__(self, table_type: type) -> None:
        self.table_type = table_type
        self.active = False

    def deepcopy(self, obj: Any, memo: dict[int, Any] | None = None) -> Any:
        if self.active and isinstance(obj, self.table_type):
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def install_item_level_rollback() -> None:
    """Patch moto's DynamoDB backend once per process; later calls do nothing."""
    global _installed
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    shim = _CopyWithoutTables(Table)
    models.copy = shim  # type: ignore[attr-defined,assignment]
    original = models.DynamoDBBackend.transact_write_items

    @functools.wraps(original)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = [_save_item(self, item) for item in transact_items]
        shim.active = True
        try:
            original(self, transact_items)
        except Exception:
            for restore in reversed(saved):
                restore()
            raise
        finally:
            shim.active = False

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True


def _save_item(backend: Any, transact_item: dict[str, Any]) -> Any:
    """Remember one target item (and its table's stream length); return the function restoring them."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    op_type, op = next(iter(transact_item.items()))
    try:
        table = backend.get_table(op["TableName"])
    except Exception:
        return lambda: None  # moto itself reports the missing table
    attrs = op["Item"] if op_type == "Put" else op["Key"]
    hash_key = DynamoType(attrs[table.hash_key_attr])
    range_key = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    prior = copy.deepcopy(table.get_item(hash_key, range_key))
    shard = table.stream_shard
    stream_records, stream_length = (shard.items, len(shard.items)) if shard is not None else (None, 0)

    def restore() -> None:
        bucket = table.items[hash_key] if range_key is not None else table.items
        slot = range_key if range_key is not None else hash_key
        if prior is None:
            bucket.pop(slot, None)
        else:
            bucket[slot] = prior
        if stream_records is not None:
            del stream_records[stream_length:]

    return restore
