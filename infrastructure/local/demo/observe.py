"""Waiting for effects (bounded, polled: never a fixed sleep) and concord's own view of them.

ConcordView reads the event store the way `concord history` / `concord lookup` do, through the
application (its recorder talks to moto over AWS_ENDPOINT_URL, set by the demo for its process).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class StepFailed(Exception):
    """A step's effect did not show within its timeout, or an action on a system failed."""


def wait_for(what: str, probe: Callable[[], T | None], timeout_s: float, *, every_s: float = 0.5) -> T:
    """The first truthy result of `probe`; StepFailed naming `what` after `timeout_s`. A probe that
    raises counts as "not yet" (the system may still be creating what it reads), its last error is kept."""
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while True:
        try:
            found = probe()
            if found:
                return found
        except Exception as exc:  # not there yet: keep polling until the deadline
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise StepFailed(f"{what}: not seen within {timeout_s:.0f} s{detail}")
        time.sleep(every_s)


class ConcordView:
    def __init__(self, environment: Mapping[str, str]) -> None:
        from infrastructure import wiring
        from infrastructure.settings import Settings

        settings = Settings(
            **{
                key.removeprefix("CONCORD_").lower(): value
                for key, value in environment.items()
                if key.startswith("CONCORD_")
                and key.removeprefix("CONCORD_").lower() in Settings.model_fields
            }
        )
        from application.app import ConcordApp

        self.app = ConcordApp(env=wiring.eventsourcing_env(settings))

    def ids(self, entity: str, crm_id: str) -> dict[str, str]:
        from application.correlation import lookup

        for found in lookup(self.app, "crm", crm_id):
            if found["entity"] == entity:
                return {str(k): str(v) for k, v in dict(found["ids"]).items()}  # type: ignore[call-overload]
        return {}

    def lookup(self, system: str, external_id: str) -> list[dict[str, Any]]:
        from application.correlation import lookup

        return lookup(self.app, system, external_id)

    def aggregate(self, kind: type[Any], crm_id: str) -> Any:
        return self.app.get_or_none(kind, crm_id)

    def order_status(self, crm_id: str) -> str | None:
        from domain.order import Order

        order = self.aggregate(Order, crm_id)
        return None if order is None else str(order.status.value)

    def price_versions(self, crm_id: str) -> list[dict[str, Any]]:
        from domain.product import Product

        product = self.aggregate(Product, crm_id)
        return [] if product is None else [v for versions in product.prices.values() for v in versions]

    def history(self, entity: str, crm_id: str) -> list[Any]:
        from application.app import history
        from domain.base import entity_id

        return history(self.app, entity_id(entity, crm_id))
