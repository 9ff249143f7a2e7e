"""The org's records: validation as Salesforce does it, system fields, external-id lookups, and the
change list each write adds to its transaction (the sandbox turns committed changes into CDC events).

Every write validates fully before it touches anything, so a failed record leaves no trace; a
rolled-back allOrNone transaction restores a snapshot.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infrastructure.sandboxes.salesforce.ids import KEY_PREFIXES, IdMinter, checksum, is_valid_id
from infrastructure.sandboxes.salesforce.rules import RULES
from infrastructure.sandboxes.salesforce.schema import SCHEMAS, SfError, check_value, format_datetime

Record = dict[str, Any]


@dataclass
class Change:
    obj: str
    change_type: str  # CREATE | UPDATE | DELETE
    record_id: str
    values: Record  # the record's values after the change (CREATE/UPDATE)
    changed: list[str] = field(default_factory=list)
    nulled: list[str] = field(default_factory=list)


@dataclass
class Transaction:
    client: str | None  # from Sforce-Call-Options: client=<id>
    changes: list[Change] = field(default_factory=list)


class Org:
    def __init__(self, now: Callable[[], float], user_id: str, minter: IdMinter) -> None:
        self._now, self.user_id, self.minter = now, user_id, minter
        self.records: dict[str, dict[str, Record]] = {obj: {} for obj in SCHEMAS}
        self.lock = threading.RLock()
        self._numbers = {"Order": 100, "OrderItem": 0}
        self.standard_pricebook_id = self.insert("Pricebook2", {"Name": "Standard Price Book", "IsActive": True},
                                                 Transaction(None), system={"IsStandard": True})

    # -- reads -------------------------------------------------------------------------------
    def schema(self, obj: str) -> dict[str, Any]:
        if obj not in SCHEMAS:
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        return SCHEMAS[obj]

    def get(self, obj: str, record_id: str) -> Record:
        self.schema(obj)
        if not is_valid_id(record_id):
            raise SfError("MALFORMED_ID", f"{obj} ID: id value of incorrect type: {record_id}", status=400)
        full = record_id if len(record_id) == 18 else record_id + checksum(record_id)
        record = self.records[obj].get(full)
        if record is None:
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        return record

    def find_by_external_id(self, obj: str, ext_field: str, value: str) -> list[Record]:
        spec = self.schema(obj).get(ext_field)
        if ext_field != "Id" and (spec is None or not spec.external_id):
            raise SfError("NOT_FOUND", f"Provided external ID field does not exist or is not accessible: "
                          f"{ext_field}", status=404)
        # External ids match case-insensitively unless the field is marked case-sensitive.
        return [r for r in self.records[obj].values() if str(r.get(ext_field) or "").casefold() == value.casefold()]

    # -- writes ------------------------------------------------------------------------------
    def insert(self, obj: str, values: Record, tx: Transaction, *, system: Record | None = None) -> str:
        clean = self._validate(obj, values, None)
        now = self._stamp()
        record_id = self.minter.mint(KEY_PREFIXES[obj])
        record: Record = {name: None for name in SCHEMAS[obj]}
        record.update({"Id": record_id, "IsDeleted": False, "CreatedDate": now, "CreatedById": self.user_id,
                       "LastModifiedDate": now, "LastModifiedById": self.user_id, "SystemModstamp": now})
        record.update(RULES.defaults(obj, self, clean))
        record.update(clean)
        record.update(self._autonumber(obj))
        record.update(system or {})
        self.records[obj][record_id] = record
        tx.changes.append(Change(obj, "CREATE", record_id, dict(record)))
        return record_id

    def update(self, obj: str, record_id: str, values: Record, tx: Transaction) -> None:
        record = self.get(obj, record_id)
        clean = self._validate(obj, values, record)
        changed = [name for name, value in clean.items() if record.get(name) != value]
        now = self._stamp()
        record.update(clean)
        record.update({"LastModifiedDate": now, "LastModifiedById": self.user_id, "SystemModstamp": now})
        # Salesforce bumps LastModifiedDate (and emits a change) even when no value changed.
        changed.append("LastModifiedDate")
        nulled = [name for name in changed if record.get(name) is None]
        tx.changes.append(Change(obj, "UPDATE", record["Id"], dict(record), changed, nulled))

    def delete(self, obj: str, record_id: str, tx: Transaction) -> None:
        record = self.get(obj, record_id)
        RULES.before_delete(obj, self, record)
        del self.records[obj][record["Id"]]
        tx.changes.append(Change(obj, "DELETE", record["Id"], {}))

    def snapshot(self) -> Any:
        return copy.deepcopy((self.records, self._numbers))

    def restore(self, state: Any) -> None:
        self.records, self._numbers = state

    # -- helpers -----------------------------------------------------------------------------
    def _stamp(self) -> str:
        # Salesforce keeps LastModifiedDate to the second (rendered .000): ties are common.
        return format_datetime(datetime.fromtimestamp(int(self._now()), tz=UTC))

    def _autonumber(self, obj: str) -> Record:
        if obj not in self._numbers:
            return {}
        self._numbers[obj] += 1
        name, width = ("OrderNumber", 8) if obj == "Order" else ("OrderItemNumber", 10)
        return {name: str(self._numbers[obj]).zfill(width)}

    def _validate(self, obj: str, values: Record, existing: Record | None) -> Record:
        schema = self.schema(obj)
        clean: Record = {}
        for name, value in values.items():
            if name == "attributes":
                continue
            spec = schema.get(name)
            if spec is None:
                raise SfError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}", [name])
            if spec.readonly:
                raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {name}. Please "
                              "check the security settings of this field and verify that it is read/write for "
                              "your profile or permission set.", [name])
            clean[name] = check_value(obj, name, spec, value)
            if spec.type == "reference" and clean[name] is not None:
                clean[name] = self._check_reference(name, spec.target, clean[name])
        merged = {**(existing or {}), **clean}
        missing = [name for name, spec in schema.items() if spec.required and merged.get(name) is None]
        if missing:
            raise SfError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
        RULES.check(obj, self, clean, existing)
        return clean

    def _check_reference(self, name: str, target: str, value: str) -> str:
        if not is_valid_id(value) or value[:3] != KEY_PREFIXES[target]:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", f"{name}: id value of incorrect type: {value}", [name])
        try:
            return str(self.get(target, value)["Id"])
        except SfError as exc:
            raise SfError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name]) from exc
