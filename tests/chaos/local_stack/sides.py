"""The billing side of the local-stack chaos run: the in-process harness's sides (clerk, raw reads,
fault counts) bound to the local stack's running sandbox instead of one of their own.

The stack's sandboxes run in this process (infrastructure/local/sandboxes.py), so the clerk's
screen (live subscriptions) reads the sandbox's state as the harness does, and every other call goes
over the vendor's raw HTTP API with the stack's own made-up credentials.
"""

from __future__ import annotations

import httpx

from infrastructure.local.sandboxes import Sandboxes
from tests.chaos.harness.actors import Session
from tests.chaos.harness.stripe_side import StripeSide
from tests.chaos.harness.zuora_side import ZuoraSide


class LocalZuoraSide(ZuoraSide):
    def __init__(self, sandboxes: Sandboxes) -> None:  # no super().__init__(): it starts a sandbox of its own
        credentials = sandboxes.credentials["zuora"]
        self.sandbox = sandboxes.zuora
        self.url = self.sandbox.url
        form = {"grant_type": "client_credentials", "client_id": credentials["client_id"],
                "client_secret": credentials["client_secret"]}
        self.clerk = Session(self.url, "/oauth/token", form, {})

    def flush(self) -> None:
        self.sandbox.callouts.drain(30)

    def idle(self) -> bool:
        return self.sandbox.callouts._queue.unfinished_tasks == 0

    def stop(self) -> None:
        self.clerk.http.close()


class LocalStripeSide(StripeSide):
    def __init__(self, sandboxes: Sandboxes) -> None:  # no super().__init__(): it starts a sandbox of its own
        self.sandbox = sandboxes.stripe
        self.url = self.sandbox.url
        self.sandbox.rate.limit = 100_000  # as the harness: the injected 429s are the throttling measured
        self.clerk = httpx.Client(base_url=self.url, timeout=30,
                                  headers={"Authorization": f"Bearer {sandboxes.credentials['stripe']['api_key']}"})

    def idle(self) -> bool:
        return not self.sandbox.events._due

    def stop(self) -> None:
        self.clerk.close()


SIDES: dict[str, type[LocalZuoraSide] | type[LocalStripeSide]] = {"zuora": LocalZuoraSide, "stripe": LocalStripeSide}
