"""The composition root (dependency-injector): settings choose the event store and the billing vendor.

    container = Container()
    services = container.services()      # built on first use, once per cold start

Swapping Zuora for Stripe is `CONCORD_BILLING_VENDOR=stripe`; swapping the event store is
`CONCORD_EVENT_STORE=memory|sqlite|dynamodb`. Nothing else changes.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from application.app import ConcordApp
from application.services import Services
from infrastructure import wiring
from infrastructure.settings import Settings


class Container(containers.DeclarativeContainer):
    settings = providers.Singleton(Settings)

    eventsourcing_env = providers.Singleton(wiring.eventsourcing_env, settings)
    app = providers.Singleton(ConcordApp, env=eventsourcing_env)

    tokens = providers.Singleton(wiring.token_provider, settings)
    crm = providers.Singleton(wiring.salesforce, settings, tokens)
    billing = providers.Selector(
        settings.provided.billing_vendor,
        zuora=providers.Singleton(wiring.zuora, settings, tokens),
        stripe=providers.Singleton(wiring.stripe, settings),
    )
    publisher = providers.Singleton(wiring.publisher, settings)
    dead_letters = providers.Singleton(wiring.dead_letters, settings)
    credentials = providers.Singleton(wiring.credential_store, settings)
    token_writer = providers.Singleton(wiring.token_writer, settings)
    minters = providers.Singleton(wiring.minters, settings)

    services = providers.Singleton(
        Services, app=app, crm=crm, billing=billing,
        integration_client=settings.provided.salesforce_integration_client,
    )
