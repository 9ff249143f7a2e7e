"""The system under chaos: the Salesforce sandbox and a billing vendor's (Zuora or Stripe), the REAL
adapters on them, the REAL use cases (application.handlers) behind the REAL SQS consumer
(adapters.aws.sqs_batch) and bus translation (entrypoints.lambdas._translate), the event gateway's
webhook route, an eventsourcing POPO event store, and the queues.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import httpx

from adapters.crm.salesforce.auth import SalesforceAuth
from adapters.crm.salesforce.client import SalesforceHttp
from adapters.crm.salesforce.gateway import SalesforceCrm
from adapters.outbound import FetchingTokens, RetryPolicy
from application.app import ConcordApp
from application.services import Services
from infrastructure.sandboxes.base import Faults
from infrastructure.sandboxes.salesforce import SalesforceSandbox
from tests.chaos.harness.crash import CrashingBilling
from tests.chaos.harness.queues import DeadLetters, LogicalClock, SimQueue
from tests.chaos.harness.routing import Bus
from tests.chaos.harness.stripe_side import StripeSide
from tests.chaos.harness.zuora_side import ZuoraSide

SF_ID, SF_SECRET = "3MVG9chaos.client", "chaos-sf-secret"
QUEUES = ("account", "order", "product")
SIDES: dict[str, Any] = {"zuora": ZuoraSide, "stripe": StripeSide}


@dataclass(frozen=True)
class ChaosConfig:
    seed: int = 20261122
    vendor: str = "zuora"
    error_rate: float = 0.05  # vendor 5xx
    throttle_rate: float = 0.01  # vendor 429 (Salesforce: 403 REQUEST_LIMIT_EXCEEDED)
    drop_event_rate: float = 0.01
    duplicate_event_rate: float = 0.01
    crash_rate: float = 0.03  # of billing writes the vendor accepted
    max_receives: int = 5
    workers: int = 2
    adapter_attempts: int = 2  # few in-adapter retries, so faults also reach the queue

    def faults(self, salt: int) -> Faults:
        return Faults(
            error_rate=self.error_rate,
            throttle_rate=self.throttle_rate,
            drop_event_rate=self.drop_event_rate,
            duplicate_event_rate=self.duplicate_event_rate,
            seed=self.seed + salt,
        )


class ChaosStack:
    def __init__(self, config: ChaosConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.clock = LogicalClock()
        self.queues = {
            name: SimQueue(name, self.clock, random.Random(config.seed + i)) for i, name in enumerate(QUEUES)
        }
        self.dead_letters = DeadLetters()
        self.bus = Bus(self.queues)
        self.http = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=20))
        self.salesforce = SalesforceSandbox(SF_ID, SF_SECRET, events_to=self.bus.relay, daily_limit=10**7)
        self.sf_url = self.salesforce.start()
        self.side = SIDES[config.vendor](self.bus, self.http)
        self.app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        self.crm = self._salesforce(config.adapter_attempts)
        self.billing = CrashingBilling(
            self.side.gateway(config.adapter_attempts), config.crash_rate, random.Random(config.seed + 99)
        )
        self.services = Services(self.app, self.crm, self.billing, integration_client="concord")  # type: ignore[arg-type]
        # The operator's run (reconcile --repair): same store, a process that is not being killed, and
        # the production retry policy (5 attempts) rather than the workers' deliberately short one.
        self.operator = Services(
            self.app, self._salesforce(5), self.side.gateway(5), integration_client="concord"
        )
        self.fresh_tokens(self.crm, self.billing.inner)

    def fresh_tokens(self, crm: SalesforceCrm, billing: Any) -> None:
        """Fetch tokens with the faults off. Production workers read tokens the access manager stored
        (SSM); here a token request meeting an injected 5xx is not retried by the adapters
        (FetchingTokens raises at once), which would end the operator's run rather than test it."""
        faults = (self.salesforce.faults, self.side.sandbox.faults)
        self.salesforce.set_faults(Faults())
        self.side.sandbox.set_faults(Faults())
        tokens = crm.http.tokens
        assert tokens is not None
        tokens.invalidate("salesforce", tokens.token("salesforce"))
        self.side.refresh_tokens(billing)
        self.salesforce.set_faults(faults[0])
        self.side.sandbox.set_faults(faults[1])

    def _salesforce(self, attempts: int) -> SalesforceCrm:
        auth = SalesforceAuth(self.sf_url, SF_ID, client_secret=SF_SECRET, client=self.http)
        return SalesforceCrm(
            SalesforceHttp(
                self.sf_url,
                tokens=FetchingTokens(auth.fetch_pair),
                client=self.http,
                retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.002, max_delay_s=0.01),
            )
        )

    def chaos(self, on: bool) -> None:
        """Faults in both vendors (requests and emitted events), and the killer of workers."""
        self.salesforce.set_faults(self.config.faults(1) if on else Faults())
        self.side.sandbox.set_faults(self.config.faults(2) if on else Faults())
        self.billing.armed = on

    def expire_tokens(self) -> None:
        """Every token either vendor issued stops working at once."""
        self.salesforce.expire_tokens()
        self.side.expire_tokens()

    def flush_events(self) -> None:
        """Wait until both vendors delivered what they emitted (relay thread, webhook/callout thread)."""
        for _ in range(3):
            self.salesforce.emitter.flush(10)
            self.side.flush()

    def fault_stats(self) -> dict[str, Any]:
        sf, emitter = self.salesforce.stats, self.salesforce.emitter.stats
        billing = self.side.fault_stats()
        return {
            "5xx": sf["fault:5xx"] + billing["5xx"],
            "429": sf["fault:429"] + billing["429"],
            "events_dropped": emitter["dropped"] + billing["events_dropped"],
            "events_duplicated": emitter["duplicated"] + billing["events_duplicated"],
            "workers_killed": sum(self.billing.crashes.values()),
        }

    def stop(self) -> None:
        self.salesforce.stop()
        self.side.stop()
        self.http.close()
