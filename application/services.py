"""What the handlers are given: the application, the ports, and a few facts of configuration."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from application.app import ConcordApp
from application.ports import BillingGateway, Clock, CrmGateway


@dataclass
class Services:
    app: ConcordApp
    crm: CrmGateway
    billing: BillingGateway
    integration_client: str = "concord"  # the CRM client id our own writes carry (echo suppression)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("concord"))
    clock: Clock | None = None

    def today(self) -> date:
        return (self.clock.now() if self.clock is not None else datetime.now(UTC)).date()


@dataclass(frozen=True)
class Outcome:
    """What a handler did, for logs, tests and the CLI."""

    action: str  # "created" | "updated" | "noop" | "ignored" | "failed" | a transition name
    detail: str = ""
    aggregate_id: str = ""
