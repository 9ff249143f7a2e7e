"""Correlation: the ids of one entity in every system, and the claims that keep them unique.

A `Correlation` lists an entity's ids (crm, billing, billing_number, payment, any external source).
Each id is also claimed by a `CorrelationClaim` whose aggregate id is derived from (entity,
system, external id): two entities claiming one id both try to create version 1 of the same
claim, and the event store lets exactly one of them win. Lookups from any system's id go through
the claim (a read model that cannot disagree with the writes).
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.base import NAMESPACE, entity_id
from domain.errors import IdAlreadyLinked


class Correlation(Aggregate):
    @staticmethod
    def create_id(entity: str, crm_id: str) -> UUID:
        return uuid5(NAMESPACE, f"correlation:{entity}:{crm_id}")

    @event("Started")
    def __init__(self, entity: str, crm_id: str) -> None:
        self.entity = entity
        self.crm_id = crm_id
        self.entity_id = entity_id(entity, crm_id)
        self.ids: dict[str, str] = {"crm": crm_id}

    def link(self, system: str, external_id: str, correlation_id: str) -> bool:
        """Link an id; False when it is already linked. A different id for the same system is refused."""
        current = self.ids.get(system)
        if current == external_id:
            return False
        if current is not None:
            raise IdAlreadyLinked(system, current, f"{self.entity} {self.crm_id} (asked to link {external_id})")
        self._linked(system=system, external_id=external_id, correlation_id=correlation_id)
        return True

    @event("IdLinked")
    def _linked(self, system: str, external_id: str, correlation_id: str) -> None:
        self.ids[system] = external_id


class CorrelationClaim(Aggregate):
    @staticmethod
    def create_id(entity: str, system: str, external_id: str) -> UUID:
        return claim_id(entity, system, external_id)

    @event("Claimed")
    def __init__(self, entity: str, system: str, external_id: str, crm_id: str) -> None:
        self.entity, self.system, self.external_id, self.crm_id = entity, system, external_id, crm_id


def claim_id(entity: str, system: str, external_id: str) -> UUID:
    return uuid5(NAMESPACE, f"claim:{entity}:{system}:{external_id}")
