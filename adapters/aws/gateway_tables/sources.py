"""The sources table: registered HTTP-only systems and their API key hashes (DESIGN §4).

Two kinds of item, one partition key `id`:
    source#<uuid>   {name, source, eventNames, keyHashes: [oldest, ..., newest]}
    key#<sha256>    {sourceId}          one per live key: the lookup by key is one GetItem
Both change in one transaction, so a key item never outlives its source's list (and the lookup
still checks the list, in case an operator edits a row by hand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.aws.gateway_tables._dynamo import KEY, get, scan, to_item
from adapters.aws.lease import AwsFailure, aws_error, error_code
from application.errors import NotFound, PermanentError
from application.gateway import Source

SYSTEM = "dynamodb:sources"


class SourcesTable:
    """SourceRegistry (the gateway) and SourceAdmin (the CLI) over one DynamoDB table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client, self._table = client, table_name

    def find_by_key_hash(self, key_hash: str) -> Source | None:
        key_item = get(self._client, self._table, f"key#{key_hash}", system=SYSTEM)
        if key_item is None:
            return None
        source = self._load(str(key_item["sourceId"]))
        return source if source is not None and key_hash in source.key_hashes else None

    def get(self, source_id: str) -> Source:
        source = self._load(source_id)
        if source is None:
            raise NotFound(f"no source {source_id!r}", system=SYSTEM, code="NOT_FOUND")
        return source

    def list(self) -> Sequence[Source]:
        items = scan(self._client, self._table, system=SYSTEM, prefix="source#")
        return sorted((_source(item) for item in items), key=lambda s: s.name)

    def add(self, source: Source) -> None:
        item = to_item({KEY: f"source#{source.id}", "name": source.name, "source": source.source,
                        "eventNames": sorted(source.event_names), "keyHashes": list(source.key_hashes)})
        self._transact([self._put_new(item), *(self._put_key(h, source.id) for h in source.key_hashes)])

    def replace_keys(self, source_id: str, expected: tuple[str, ...], keys: tuple[str, ...]) -> None:
        update = {"Update": {
            "TableName": self._table, "Key": {KEY: {"S": f"source#{source_id}"}},
            "UpdateExpression": "SET keyHashes = :keys",
            # Optimistic: a concurrent rotation changed the list since we read it -> one of us fails.
            "ConditionExpression": "keyHashes = :expected",
            "ExpressionAttributeValues": to_item({":keys": list(keys), ":expected": list(expected)})}}
        added = [self._put_key(h, source_id) for h in keys if h not in expected]
        removed = [{"Delete": {"TableName": self._table, "Key": {KEY: {"S": f"key#{h}"}}}}
                   for h in expected if h not in keys]
        self._transact([update, *added, *removed])

    def _load(self, source_id: str) -> Source | None:
        item = get(self._client, self._table, f"source#{source_id}", system=SYSTEM)
        return _source(item) if item is not None else None

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": item,
                        "ConditionExpression": "attribute_not_exists(#id)",
                        "ExpressionAttributeNames": {"#id": KEY}}}

    def _put_key(self, key_hash: str, source_id: str) -> dict[str, Any]:
        return self._put_new(to_item({KEY: f"key#{key_hash}", "sourceId": source_id}))

    def _transact(self, items: Sequence[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=list(items))
        except AwsFailure as exc:
            if error_code(exc) == "TransactionCanceledException" and "ConditionalCheckFailed" in str(exc):
                raise PermanentError("the source changed meanwhile (or already exists): read it and retry",
                                     system=SYSTEM, code="CONFLICT") from exc
            raise aws_error(exc, system=SYSTEM, action="TransactWriteItems") from exc


def _source(item: dict[str, Any]) -> Source:
    return Source(id=str(item[KEY]).removeprefix("source#"), name=str(item.get("name", "")),
                  source=str(item.get("source", "")), event_names=frozenset(item.get("eventNames", [])),
                  key_hashes=tuple(item.get("keyHashes", [])))
