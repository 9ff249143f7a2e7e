"""Rebuilding read models from the events table alone (issue 6, Replay).

The application's notification log (its recorder's notifications) is every event of every
aggregate in one total order (the log the outbox relay publishes). Reading it from the first
notification and folding the events into fresh structures must give what the live application
answers:

- `rebuild_correlations`: the Correlation lookup (ids per entity, and the claims that make an id
  findable from any system), a projection built here, independent of the aggregates' own code;
- `rebuild_aggregates`: every aggregate, folded event by event (no snapshots), for comparison with
  what the repository loads (snapshots included).

Both hold the rebuilt model in memory: a check to run on a copy or off-hours, not on every request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.utils import get_topic

from application.app import ConcordApp
from application.correlation import ENTITY_KINDS, lookup
from domain.base import entity_id
from domain.correlation import Correlation, CorrelationClaim

PAGE = 500
# Event classes are made by the @event decorator at import time: named by topic, not by attribute.
_STARTED = f"{get_topic(Correlation)}.Started"
_LINKED = f"{get_topic(Correlation)}.IdLinked"
_CLAIMED = f"{get_topic(CorrelationClaim)}.Claimed"
Event = DomainEventProtocol[UUID]


def domain_events(app: ConcordApp, topics: Sequence[str] = (),
                  page_size: int = PAGE) -> Iterator[tuple[str, Event]]:
    """(topic, event) of every event of the log in notification order (only `topics` when given)."""
    start = 1
    while True:
        # The recorder's own select: the log's select caps a page at its section size (10).
        page = app.recorder.select_notifications(start, page_size, topics=topics)
        for notification in page:
            yield notification.topic, app.mapper.to_domain_event(notification)
        if len(page) < page_size:
            return
        start = page[-1].id + 1


@dataclass
class CorrelationModel:
    """The lookup, rebuilt: (entity, crm id) -> ids per system; (entity, system, id) -> crm id."""

    links: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    claims: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def lookup(self, system: str, external_id: str) -> list[dict[str, object]]:
        """The same answer as application.correlation.lookup, from this model alone."""
        found: list[dict[str, object]] = []
        for entity in ENTITY_KINDS:
            crm_id = external_id if system == "crm" else self.claims.get((entity, system, external_id))
            ids = self.links.get((entity, crm_id)) if crm_id is not None else None
            if crm_id is None or ids is None:
                continue
            found.append({"entity": entity, "crm_id": crm_id, "aggregate_id": str(entity_id(entity, crm_id)),
                          "ids": dict(ids)})
        return found

    def every_id(self) -> set[tuple[str, str]]:
        return {(system, value) for ids in self.links.values() for system, value in ids.items()}


def rebuild_correlations(app: ConcordApp) -> CorrelationModel:
    model = CorrelationModel()
    keys: dict[UUID, tuple[str, str]] = {}
    for topic, event in domain_events(app, topics=(_STARTED, _LINKED, _CLAIMED)):
        state: dict[str, Any] = vars(event)
        if topic == _STARTED:
            keys[event.originator_id] = (state["entity"], state["crm_id"])
            model.links[keys[event.originator_id]] = {"crm": state["crm_id"]}
        elif topic == _LINKED:
            model.links[keys[event.originator_id]][state["system"]] = state["external_id"]
        else:
            model.claims[(state["entity"], state["system"], state["external_id"])] = state["crm_id"]
    return model


def correlation_differences(app: ConcordApp, model: CorrelationModel) -> list[str]:
    """Where the rebuilt lookup and the live one disagree (empty: they are equal)."""
    found: list[str] = []
    for (entity, crm_id), ids in model.links.items():
        live = app.get_or_none(Correlation, entity, crm_id)
        if live is None or live.ids != ids:
            live_ids = None if live is None else live.ids
            found.append(f"correlation {entity} {crm_id}: live {live_ids}, rebuilt {ids}")
    for (entity, system, external_id), crm_id in model.claims.items():
        claim = app.get_claim(entity, system, external_id)
        if claim is None or claim.crm_id != crm_id:
            live_crm_id = None if claim is None else claim.crm_id
            found.append(f"claim {entity} {system}={external_id}: live {live_crm_id}, rebuilt {crm_id}")
    for system, external_id in sorted(model.every_id()):
        if lookup(app, system, external_id) != model.lookup(system, external_id):
            found.append(f"lookup {system} {external_id} differs")
    return found


def rebuild_aggregates(app: ConcordApp) -> dict[UUID, Aggregate]:
    """Every aggregate folded from its events in log order, without snapshots."""
    rebuilt: dict[UUID, Aggregate] = {}
    for _, event in domain_events(app):
        rebuilt[event.originator_id] = event.mutate(rebuilt.get(event.originator_id))  # type: ignore[attr-defined]
    return rebuilt


def aggregate_differences(app: ConcordApp, rebuilt: dict[UUID, Aggregate]) -> list[str]:
    found: list[str] = []
    for aggregate_id, aggregate in rebuilt.items():
        live: Aggregate = app.repository.get(aggregate_id)
        if vars(live) != vars(aggregate):
            name = type(aggregate).__name__
            found.append(f"{name} {aggregate_id}: rebuilt v{aggregate.version} != live v{live.version}")
    return found
