"""`concord salesforce setup-relay [--dry-run]`: the Salesforce side of Event Relay, then the AWS side.

Steps, each reported as "exists", "created"/"updated" or, in a dry run, "would create"/"would update":
  1. named credential pointing at the AWS account and region (arn:aws:<region>:<account>)
  2. platform event channel `<name>__chn` (type data: change events only, VENDORS §1.6)
  3. one channel member per change event concord consumes
  4. EventRelayConfig on that channel, created STOPPED
  5. AWS: the partner event bus, associated with the relay's partner event source
  6. the relay set to RUN
Idempotent: existing configuration is read first, so a second run changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from adapters.crm.salesforce.client import SalesforceHttp
from adapters.crm.salesforce.soql import quote, select
from application.errors import PermanentError

CDC_EVENTS = ("AccountChangeEvent", "OrderChangeEvent", "OrderItemChangeEvent", "Product2ChangeEvent",
              "PricebookEntryChangeEvent")


@dataclass(frozen=True)
class RelayPlan:
    aws_account: str
    aws_region: str
    channel: str = "Concord__chn"
    credential: str = "ConcordEventBridge"
    relay: str = "ConcordRelay"
    entities: tuple[str, ...] = CDC_EVENTS
    replay_recovery: str = "LATEST"


@dataclass(frozen=True)
class Step:
    name: str
    status: str  # exists | created | updated | would create | would update | skipped
    detail: str = ""


class _Tooling:
    def __init__(self, http: SalesforceHttp) -> None:
        self.http = http

    def find(self, sobject: str, fields: tuple[str, ...], where: str) -> list[dict[str, Any]]:
        body = self.http.call("GET", self.http.data("tooling/query"), params={"q": select(fields, sobject, where)})
        records: list[dict[str, Any]] = []
        while isinstance(body, dict):
            records += [r for r in body.get("records") or [] if isinstance(r, dict)]
            if body.get("done", True) or not body.get("nextRecordsUrl"):
                break
            body = self.http.call("GET", str(body["nextRecordsUrl"]))
        return records

    def create(self, sobject: str, full_name: str, metadata: dict[str, Any]) -> str:
        body = self.http.call("POST", self.http.data(f"tooling/sobjects/{sobject}"),
                              json={"FullName": full_name, "Metadata": metadata})
        return str((body or {}).get("id"))


def _ensure(tooling: _Tooling, sobject: str, full_name: str, metadata: dict[str, Any], dry_run: bool) -> Step:
    developer_name = full_name.removesuffix("__chn")
    found = tooling.find(sobject, ("Id",), f"DeveloperName = {quote(developer_name)}")
    if found:
        return Step(f"{sobject} {full_name}", "exists", str(found[0]["Id"]))
    if dry_run:
        return Step(f"{sobject} {full_name}", "would create")
    return Step(f"{sobject} {full_name}", "created", tooling.create(sobject, full_name, metadata))


def _members(tooling: _Tooling, plan: RelayPlan, dry_run: bool) -> list[Step]:
    present = {r.get("SelectedEntity") for r in tooling.find(
        "PlatformEventChannelMember", ("Id", "SelectedEntity"), f"EventChannel = {quote(plan.channel)}")}
    steps = []
    for entity in plan.entities:
        name = f"PlatformEventChannelMember {entity}"
        if entity in present:
            steps.append(Step(name, "exists"))
        elif dry_run:
            steps.append(Step(name, "would create"))
        else:
            member = f"{plan.channel.removesuffix('__chn')}_chn_{entity}"
            tooling.create("PlatformEventChannelMember", member, {"eventChannel": plan.channel,
                                                                   "selectedEntity": entity})
            steps.append(Step(name, "created"))
    return steps


def _relay_metadata(plan: RelayPlan, state: str) -> dict[str, Any]:
    return {"label": plan.relay, "destinationResourceName": f"callout:{plan.credential}",
            "eventChannel": plan.channel, "state": state,
            "relayOption": json.dumps({"ReplayRecovery": plan.replay_recovery})}


def _partner_bus(events: Any, source: str | None, dry_run: bool) -> Step:
    if source is None:
        return Step("EventBridge partner bus", "would create" if dry_run else "skipped", "source known once the "
                    "relay exists")
    if events is None:
        return Step(f"EventBridge partner bus {source}", "skipped", "no AWS client given")
    if events.list_event_buses(NamePrefix=source).get("EventBuses"):
        return Step(f"EventBridge partner bus {source}", "exists")
    if dry_run:
        return Step(f"EventBridge partner bus {source}", "would create")
    events.create_event_bus(Name=source, EventSourceName=source)
    return Step(f"EventBridge partner bus {source}", "created")


def setup_relay(http: SalesforceHttp, plan: RelayPlan, *, events: Any = None, dry_run: bool = False) -> list[Step]:
    """Bring the org (and, with `events`, a boto3 EventBridge client, the AWS account) to the plan."""
    tooling = _Tooling(http)
    steps = [_ensure(tooling, "NamedCredential", plan.credential,
                     {"label": plan.credential, "endpoint": f"arn:aws:{plan.aws_region}:{plan.aws_account}",
                      "principalType": "Anonymous", "protocol": "NoAuthentication"}, dry_run),
             _ensure(tooling, "PlatformEventChannel", plan.channel,
                     {"label": plan.channel.removesuffix("__chn"), "channelType": "data"}, dry_run)]
    steps += _members(tooling, plan, dry_run)
    steps.append(_ensure(tooling, "EventRelayConfig", plan.relay, _relay_metadata(plan, "STOP"), dry_run))
    relay = tooling.find("EventRelayConfig", ("Id", "State"), f"DeveloperName = {quote(plan.relay)}")
    source = _remote_resource(http, str(relay[0]["Id"])) if relay else None
    steps.append(_partner_bus(events, source, dry_run))
    steps.append(_run(http, plan, relay[0] if relay else None, dry_run))
    return steps


def _remote_resource(http: SalesforceHttp, relay_id: str) -> str | None:
    body = http.call("GET", http.data("query"), params={"q": select(
        ("RemoteResource", "Status"), "EventRelayFeedback", f"EventRelayConfigId = {quote(relay_id)}")})
    records = (body or {}).get("records") or []
    return str(records[0]["RemoteResource"]) if records else None


def _run(http: SalesforceHttp, plan: RelayPlan, relay: dict[str, Any] | None, dry_run: bool) -> Step:
    name = f"EventRelayConfig {plan.relay} state RUN"
    if relay is not None and relay.get("State") == "RUN":
        return Step(name, "exists")
    if dry_run:
        return Step(name, "would update")
    if relay is None:
        raise PermanentError("salesforce: the relay was not created", system="salesforce", code="RELAY_MISSING")
    http.request("PATCH", http.data(f"tooling/sobjects/EventRelayConfig/{relay['Id']}"),
                 json={"Metadata": _relay_metadata(plan, "RUN")})
    return Step(name, "updated")


def format_steps(steps: list[Step]) -> str:
    return "\n".join(f"{step.status:>13}  {step.name}" + (f"  ({step.detail})" if step.detail else "")
                     for step in steps)
