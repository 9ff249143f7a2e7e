"""LocalStack: everything `concord dev` runs, in one process (functions in their worker processes).

    stack = LocalStack(vendor="zuora", port=0).start()
    stack.describe()      # every endpoint: what .concord/dev.json holds
    stack.stop()

Order matters: moto, then the sandboxes (their URLs are template parameters), then provisioning,
secrets, the runtime, the access manager's first run (tokens in SSM), and the demo gateway source.
Vendor callouts and webhooks are pointed at the gateway once it listens.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from infrastructure.local.environment import LocalAws
from infrastructure.local.moto_process import start_moto_process
from infrastructure.local.runtime import Endpoints, LocalRuntime
from infrastructure.local.sandboxes import Sandboxes
from infrastructure.local.seeding import align_gateway_tables, register_demo_source
from infrastructure.provision import LOCAL_PARTNER_BUS, Topology, provision

logger = logging.getLogger("concord.local.stack")

STAGE = "dev"
DEMO_SOURCE = ("demo-carrier", "com.example.carrier", ("ShipmentConfirmed",))


@dataclass
class LocalStack:
    vendor: str = "zuora"
    port: int = 0
    event_store: str = "dynamodb"
    state_dir: Path = Path(".concord")
    schedule_speedup: float = 1.0
    moto: Any = None
    sandboxes: Sandboxes | None = None
    topology: Topology | None = None
    runtime: LocalRuntime | None = None
    endpoints: Endpoints | None = None
    source_key: str = ""
    secrets: dict[str, Any] = field(default_factory=dict)

    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.moto = start_moto_process()
        self.aws = LocalAws(self.moto.url)
        self.sandboxes = Sandboxes.start(self.aws, LOCAL_PARTNER_BUS)
        self.topology = provision(endpoint_url=self.moto.url, region=self.aws.region, parameters={
            "Stage": STAGE, "BillingVendor": self.vendor, **self.sandboxes.template_parameters()})
        align_gateway_tables(self.client("dynamodb"), self.topology)
        self.secrets = self.sandboxes.store_secrets(
            self.client("secretsmanager"), STAGE, self.topology.kms_alias
        )
        self.runtime = LocalRuntime(
            self.topology,
            self.aws,
            log_dir=self.state_dir / "logs",
            overrides=self._overrides(),
            http_port=self.port,
            schedule_speedup=self.schedule_speedup,
        )
        self.endpoints = self.runtime.start()
        self.sandboxes.point_at_gateway(self.endpoints.gateway)
        result = self.runtime.invoke("AccessManagerFunction", {"reason": "schedule"})
        logger.info("access manager: %s", result)
        self.source_key = register_demo_source(self.client("dynamodb"), self.topology, DEMO_SOURCE)

    def _overrides(self) -> dict[str, str]:
        if self.event_store == "dynamodb":
            return {}
        path = str((self.state_dir / "events.sqlite").resolve())
        return {"CONCORD_EVENT_STORE": self.event_store, "CONCORD_SQLITE_PATH": path}

    def client(self, service: str) -> Any:
        session = boto3.session.Session(
            self.aws.access_key_id, self.aws.secret_access_key, region_name=self.aws.region
        )
        return session.client(service, endpoint_url=self.aws.endpoint_url)

    def client_environment(self) -> dict[str, str]:
        """What a process needs to act on this stack as concord's CLI would (CONCORD_* and AWS_*)."""
        assert self.topology is not None
        env = {
            k: v
            for k, v in self.topology.functions["AccountFunction"].environment.items()
            if k.startswith("CONCORD_")
        }
        env.update(self.aws.client_environment())
        env.update(self._overrides())
        if self.runtime is not None:
            env["CONCORD_WEBSOCKET_MANAGEMENT_URL"] = self.runtime.websocket.management.url
        env["CONCORD_TOKEN_REFRESH_MODE"] = "inline"  # a CLI process refreshes by itself
        return env

    def describe(self) -> dict[str, Any]:
        assert self.topology is not None and self.endpoints is not None and self.sandboxes is not None
        return {
            "pid": os.getpid(),
            "stage": STAGE,
            "vendor": self.vendor,
            "eventStore": self.event_store,
            "gateway": self.endpoints.gateway,
            "websocket": self.endpoints.websocket,
            "websocketManagement": self.endpoints.websocket_management,
            "extension": self.endpoints.extension,
            "moto": self.moto.url,
            "sandboxes": self.sandboxes.urls(),
            "queues": {q.logical_id: q.url for q in self.topology.queues.values()},
            "tables": {t.logical_id: t.name for t in self.topology.tables.values()},
            "busName": self.topology.bus_name,
            "partnerBus": self.topology.partner_bus_name,
            "missingFunctions": dict(self.runtime.missing) if self.runtime else {},
            "demoSource": {
                "source": DEMO_SOURCE[1],
                "eventNames": list(DEMO_SOURCE[2]),
                "apiKey": self.source_key,
            },
            "credentials": self.sandboxes.public_credentials(),
            "env": self.client_environment(),
            "logs": str((self.state_dir / "logs").resolve()),
        }

    def write_description(self) -> Path:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "dev.json"
        path.write_text(json.dumps(self.describe(), indent=2))
        os.chmod(path, 0o600)  # it holds the local stack's sandbox credentials
        return path

    def stop(self) -> None:
        for part, action in ((self.runtime, "stop"), (self.sandboxes, "stop"), (self.moto, "stop")):
            if part is not None:
                try:
                    getattr(part, action)()
                except Exception:
                    logger.exception("stopping %s", type(part).__name__)
        self.runtime = self.sandboxes = self.moto = None

