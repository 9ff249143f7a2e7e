"""Linking ids across systems, and looking an entity up from any system's id."""

from __future__ import annotations

from collections.abc import Mapping

from eventsourcing.domain import Aggregate

from application.app import ConcordApp
from domain.correlation import Correlation, CorrelationClaim
from domain.errors import IdAlreadyLinked

ENTITY_KINDS = ("account", "order", "product")


def link_ids(app: ConcordApp, entity: str, crm_id: str, ids: Mapping[str, str],
             correlation_id: str) -> list[Aggregate]:
    """Link ids to an entity; returns the aggregates to save WITH the entity (one atomic save).

    An id already claimed by another entity is refused (IdAlreadyLinked). Two concurrent claims of
    one id both create version 1 of the same claim aggregate: the event store lets one win.
    """
    correlation = app.get_or_none(Correlation, entity, crm_id) or Correlation(entity=entity, crm_id=crm_id)
    pending: list[Aggregate] = [correlation]
    for system, external_id in ids.items():
        if not external_id:
            continue
        claim = app.get_claim(entity, system, external_id)
        if claim is not None and claim.crm_id != crm_id:
            raise IdAlreadyLinked(system, external_id, f"{entity} {claim.crm_id}")
        if claim is None:
            pending.append(CorrelationClaim(entity=entity, system=system, external_id=external_id, crm_id=crm_id))
        correlation.link(system, external_id, correlation_id)
    return pending


def crm_id_for(app: ConcordApp, entity: str, system: str, external_id: str) -> str | None:
    if system == "crm":
        return external_id
    claim = app.get_claim(entity, system, external_id)
    return claim.crm_id if claim is not None else None


def lookup(app: ConcordApp, system: str, external_id: str) -> list[dict[str, object]]:
    """Every entity that any system knows by this id, with all its ids (`concord lookup`)."""
    found: list[dict[str, object]] = []
    for entity in ENTITY_KINDS:
        crm_id = crm_id_for(app, entity, system, external_id)
        if crm_id is None:
            continue
        correlation = app.get_or_none(Correlation, entity, crm_id)
        if correlation is None:
            continue
        found.append({"entity": entity, "crm_id": crm_id, "aggregate_id": str(correlation.entity_id),
                      "ids": dict(correlation.ids)})
    return found
