"""PutEventsSink: delivers the sandbox's relay envelopes to an EventBridge partner bus (moto locally)."""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3


class PutEventsSink:
    """`events_to` for SalesforceSandbox: PutEvents each envelope (Source, DetailType, Detail=json of detail).

    `bus_name` is the partner event bus (named after the partner source); None sends each envelope to
    the bus named after its own `source`, as Event Relay does.
    """

    def __init__(self, endpoint_url: str | None, bus_name: str | None, region: str = "us-east-1") -> None:
        self.bus_name = bus_name
        self._client: Any = boto3.client("events", endpoint_url=endpoint_url, region_name=region)
        self._lock = threading.Lock()
        self.sent = 0

    def __call__(self, envelope: dict[str, Any]) -> None:
        entry = {"Source": envelope["source"], "DetailType": envelope["detail-type"],
                 "Detail": json.dumps(envelope["detail"]), "EventBusName": self.bus_name or envelope["source"]}
        with self._lock:  # boto3 clients are thread-safe, the counter is not
            answer = self._client.put_events(Entries=[entry])
            self.sent += 1
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused the event: {answer['Entries']}")

    def create_partner_source(self, name: str) -> None:
        """What Salesforce does when a relay is created: a PENDING partner event source in the account."""
        account = boto3.client("sts", endpoint_url=self._client.meta.endpoint_url,
                               region_name=self._client.meta.region_name).get_caller_identity()["Account"]
        self._client.create_partner_event_source(Name=name, Account=account)
