"""The sandbox's Event Relay side: committed changes become CDC events, gap and overflow events,
and the relay configuration (channel, members, RUN/STOP) that decides what is delivered and from
which partner event source."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.salesforce.events import change_payload, make_header
from infrastructure.sandboxes.salesforce.schema import CDC_OBJECTS
from infrastructure.sandboxes.salesforce.store import Transaction

if TYPE_CHECKING:
    from collections.abc import Callable
    from threading import RLock

    from infrastructure.sandboxes.base import Faults, SandboxClock
    from infrastructure.sandboxes.salesforce.events import Emitter
    from infrastructure.sandboxes.salesforce.store import Org


class RelayMixin:
    """Needs the sandbox's emitter, org, tooling tables, clock, lock, faults and chance()."""

    emitter: Emitter
    org: Org
    tooling: dict[str, dict[str, dict[str, Any]]]
    clock: SandboxClock
    lock: RLock
    faults: Faults
    commit_number: int
    api_version: str
    user_id: str
    org_id: str
    selected: set[str] | None
    relay_created_hook: Callable[[str], None] | None
    chance: Callable[[float], bool]

    def _commit(self, tx: Transaction) -> None:
        if not tx.changes:
            return
        self.commit_number += 1
        key, commit_ms = str(uuid.uuid4()), int(self.clock.now() * 1000)
        origin = f"com/salesforce/api/rest/{self.api_version}" + (f";client={tx.client}" if tx.client else "")
        for sequence, change in enumerate(tx.changes, start=1):
            detail_type = f"{change.obj}ChangeEvent"
            if change.obj not in CDC_OBJECTS or (self.selected is not None and detail_type not in self.selected):
                continue
            header = make_header(change, origin=origin, transaction_key=key, sequence=sequence,
                                 commit_number=self.commit_number, commit_ms=commit_ms, user_id=self.user_id)
            self.emitter.emit(self.emitter.envelope(detail_type, change_payload(change, header)))

    def emit_header_only(self, entity: str, record_ids: list[str], change_type: str) -> None:
        """Gap and overflow events: a header without fields, no origin; the consumer re-reads."""
        with self.lock:
            self.commit_number += 1
            header = {"entityName": entity, "recordIds": record_ids, "changeType": change_type,
                      "changedFields": [], "nulledFields": [], "diffFields": [], "changeOrigin": "",
                      "transactionKey": str(uuid.uuid4()), "sequenceNumber": 1,
                      "commitTimestamp": int(self.clock.now() * 1000), "commitNumber": self.commit_number,
                      "commitUser": self.user_id}
            self.emitter.emit(self.emitter.envelope(f"{entity}ChangeEvent", {"ChangeEventHeader": header}))

    def _event_fault(self, kind: str) -> bool:
        return self.chance(self.faults.drop_event_rate if kind == "drop" else self.faults.duplicate_event_rate)

    # -- relay configuration ---------------------------------------------------------------------------
    def partner_source(self, channel_id: str) -> str:
        return f"aws.partner/salesforce.com/{self.org_id}/{channel_id}"

    def relay_created(self, relay: dict[str, Any]) -> None:
        channel = self._channel(relay)
        if self.relay_created_hook is not None:
            self.relay_created_hook(self.partner_source(channel["Id"]))
        self.org.records.setdefault("EventRelayFeedback", {})[relay["Id"]] = {
            "Id": relay["Id"], "EventRelayConfigId": relay["Id"], "RemoteResource": self.partner_source(channel["Id"]),
            "Status": "STOPPED", "ErrorCode": None, "ErrorMessage": None, "LastRelayedEventTime": None}

    def relay_changed(self, relay: dict[str, Any]) -> None:
        channel = self._channel(relay)
        running = relay.get("State") == "RUN"
        if running:
            self.emitter.channel_id = channel["Id"]
            self.selected = {m["SelectedEntity"] for m in self.tooling.get("PlatformEventChannelMember", {}).values()
                             if m.get("EventChannel") == channel["FullName"]}
        feedback = self.org.records.get("EventRelayFeedback", {}).get(relay["Id"])
        if feedback is not None:
            feedback["Status"] = "RUNNING" if running else "STOPPED"

    def _channel(self, relay: dict[str, Any]) -> dict[str, Any]:
        channels = self.tooling.get("PlatformEventChannel", {}).values()
        return next(c for c in channels if c["FullName"] == relay.get("EventChannel"))
