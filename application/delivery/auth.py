"""The auth header of a destination: API key, basic, or an OAuth client-credentials token (cached)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime, timedelta

from application.delivery.ports import DeliverySender, Destination, SecretReader
from application.errors import PermanentError
from application.ports import Clock

# A token is refreshed this long before its stated expiry, so it never expires in flight.
TOKEN_MARGIN = timedelta(seconds=60)


class AuthHeaders:
    def __init__(self, sender: DeliverySender, secrets: SecretReader, clock: Clock) -> None:
        self._sender, self._secrets, self._clock = sender, secrets, clock
        self._tokens: dict[str, tuple[str, datetime]] = {}

    def headers(self, destination: Destination) -> dict[str, str]:
        kind = destination.auth_kind
        if kind == "none":
            return {}
        secret = self._secret(destination)
        if kind == "api_key":
            return {_field(secret, "header", destination, "x-api-key"): _field(secret, "key", destination)}
        if kind == "basic":
            pair = f"{_field(secret, 'username', destination)}:{_field(secret, 'password', destination)}"
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}
        return {"Authorization": f"Bearer {self._token(destination, secret)}"}

    def forget(self, destination: Destination) -> None:
        self._tokens.pop(destination.id, None)

    def _token(self, destination: Destination, secret: Mapping[str, str]) -> str:
        now = self._clock.now()
        cached = self._tokens.get(destination.id)
        if cached is not None and now < cached[1] - TOKEN_MARGIN:
            return cached[0]
        token, lifetime_s = self._sender.fetch_token(
            _field(secret, "token_url", destination), _field(secret, "client_id", destination),
            _field(secret, "client_secret", destination), secret.get("scope") or None)
        self._tokens[destination.id] = (token, now + timedelta(seconds=lifetime_s))
        return token

    def _secret(self, destination: Destination) -> Mapping[str, str]:
        if not destination.auth_secret_ref:
            raise PermanentError(f"{destination.name}: auth {destination.auth_kind} needs a secret reference",
                                 system=destination.name, code="AUTH_CONFIG", field="auth_secret_ref")
        return self._secrets.read_json(destination.auth_secret_ref)


def _field(secret: Mapping[str, str], name: str, destination: Destination, default: str | None = None) -> str:
    value = secret.get(name) or default
    if not isinstance(value, str) or not value:
        raise PermanentError(f"{destination.name}: the auth secret has no {name!r}",
                             system=destination.name, code="AUTH_CONFIG", field=name)
    return value
