"""Token minters for the access manager: vendor auth built from the credentials in Secrets Manager.

During a credential rotation both versions are valid at the vendor (the overlap window), so a
minter tries the current credentials and, only if the vendor refuses them as revoked, the previous
ones: no refresh fails while a rotation is in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from application.access import MintedToken
from application.errors import CredentialsRevoked
from infrastructure.settings import Settings


class RotatingMinter:
    def __init__(self, system: str, store: Any, mint_with: Callable[[Mapping[str, str]], MintedToken]) -> None:
        self.system, self._store, self._mint_with = system, store, mint_with

    def mint(self) -> MintedToken:
        try:
            return self._mint_with(self._store.current(self.system))
        except CredentialsRevoked:
            previous = self._store.previous(self.system)
            if previous is None:
                raise
            return self._mint_with(previous)


def _salesforce(settings: Settings) -> Callable[[Mapping[str, str]], MintedToken]:
    def mint(credentials: Mapping[str, str]) -> MintedToken:
        from adapters.crm.salesforce.auth import SalesforceAuth

        auth = SalesforceAuth(settings.salesforce_url, credentials["client_id"],
                              client_secret=credentials.get("client_secret"),
                              private_key_pem=credentials.get("private_key_pem"), username=credentials.get("username"))
        grant = auth.fetch()
        return MintedToken(grant.access_token, grant.lifetime_s, {"instance_url": grant.instance_url})
    return mint


def _zuora(settings: Settings) -> Callable[[Mapping[str, str]], MintedToken]:
    def mint(credentials: Mapping[str, str]) -> MintedToken:
        from adapters.billing.zuora.auth import ZuoraAuth

        token, lifetime = ZuoraAuth(settings.zuora_url, credentials["client_id"],
                                    credentials["client_secret"]).fetch()
        return MintedToken(token, lifetime)
    return mint


def build_minters(settings: Settings, store: Any) -> dict[str, Any]:
    return {"salesforce": RotatingMinter("salesforce", store, _salesforce(settings)),
            "zuora": RotatingMinter("zuora", store, _zuora(settings))}
