"""Use cases as plain functions in a registry (cosmicpython service_layer/handlers.py style)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from application import commands
from application.handlers.accounts import sync_account_from_crm
from application.handlers.billing import apply_billing_trigger
from application.handlers.orders import sync_order_from_crm
from application.handlers.products import sync_product_from_crm
from application.handlers.writeback import link_external_ids, write_back_status
from application.services import Outcome, Services

HANDLERS: dict[type[Any], Callable[[Any, Services], Outcome | list[Outcome]]] = {
    commands.SyncAccountFromCrm: sync_account_from_crm,
    commands.SyncOrderFromCrm: sync_order_from_crm,
    commands.SyncProductFromCrm: sync_product_from_crm,
    commands.ApplyBillingTrigger: apply_billing_trigger,
    commands.WriteBackStatus: write_back_status,
    commands.LinkExternalIds: link_external_ids,
}


def handle(command: object, services: Services) -> Outcome | list[Outcome]:
    """Dispatch one command to its one handler."""
    return HANDLERS[type(command)](command, services)
