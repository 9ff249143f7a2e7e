"""The destinations table: where outbound deliveries go, how they authenticate, how fast (DESIGN §2.3).

    <uuid>  {name, url, eventNames, authKind, authSecretRef, signingSecrets, ratePerSecond}

`signingSecrets` sit in the table (encrypted at rest with the table's KMS key); the auth material
does not: `authSecretRef` names a Secrets Manager secret. The delivery function reads every row
and keeps them `cache_s` seconds: there are tens of destinations, read thousands of times.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from adapters.aws.gateway_tables._dynamo import KEY, scan, to_item
from adapters.aws.lease import AwsFailure, aws_error
from application.delivery import Destination

SYSTEM = "dynamodb:destinations"


class DestinationsTable:
    """DestinationDirectory (delivery) and the `concord destinations` CLI's writes."""

    def __init__(self, client: Any, table_name: str, *, cache_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client, self._table = client, table_name
        self._cache_s, self._clock = cache_s, clock
        self._cached: tuple[float, list[Destination]] | None = None

    def subscribed_to(self, event_name: str) -> Sequence[Destination]:
        now = self._clock()
        if self._cached is None or now >= self._cached[0]:
            self._cached = (now + self._cache_s, list(self.list()))
        return [d for d in self._cached[1] if event_name in d.event_names]

    def list(self) -> Sequence[Destination]:
        return sorted((_destination(item) for item in scan(self._client, self._table, system=SYSTEM)),
                      key=lambda d: d.name)

    def add(self, destination: Destination) -> None:
        item = to_item({
            KEY: destination.id, "name": destination.name, "url": destination.url,
            "eventNames": sorted(destination.event_names), "authKind": destination.auth_kind,
            "authSecretRef": destination.auth_secret_ref, "signingSecrets": list(destination.signing_secrets),
            "ratePerSecond": Decimal(str(destination.rate_per_s))})
        try:
            self._client.put_item(TableName=self._table, Item=item,
                                  ConditionExpression="attribute_not_exists(#id)",
                                  ExpressionAttributeNames={"#id": KEY})
        except AwsFailure as exc:
            raise aws_error(exc, system=SYSTEM, action="PutItem") from exc
        self._cached = None


def _destination(item: dict[str, Any]) -> Destination:
    kind = str(item.get("authKind", "none"))
    return Destination(
        id=str(item[KEY]), name=str(item.get("name", "")), url=str(item.get("url", "")),
        event_names=frozenset(item.get("eventNames", [])),
        signing_secrets=tuple(item.get("signingSecrets", [])),
        auth_kind=kind if kind in ("none", "api_key", "basic", "oauth") else "none",  # type: ignore[arg-type]
        auth_secret_ref=item.get("authSecretRef"), rate_per_s=float(item.get("ratePerSecond", 5)))
