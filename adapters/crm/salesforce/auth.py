"""OAuth 2.0 at `/services/oauth2/token`: client credentials, and JWT bearer (RS256).

Salesforce's answer carries access_token, instance_url, id, token_type, issued_at (milliseconds, as
a string), signature, and no `expires_in` (VENDORS §0 #1): the session lives as long as the org's
session timeout says. We assume `assumed_lifetime_s` (2 h, the common setting) for scheduling
refreshes; an earlier expiry shows up as 401 INVALID_SESSION_ID, which the client handles.

Errors are `{"error", "error_description"}`: refused credentials (invalid_client, invalid_grant,
inactive user or org) -> CredentialsRevoked (alarm, do not retry); rate_limit_exceeded and 5xx ->
RetryableError; a malformed request -> PermanentError.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from application.errors import CredentialsRevoked, IntegrationError, PermanentError, RetryableError

SYSTEM = "salesforce"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
REVOKED = frozenset({"invalid_client", "invalid_client_id", "invalid_client_credentials", "invalid_grant",
                     "inactive_user", "inactive_org", "unauthorized_client"})
RETRYABLE = frozenset({"rate_limit_exceeded", "server_error", "temporarily_unavailable", "unknown_error"})


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    instance_url: str
    issued_at_ms: int
    identity_url: str
    lifetime_s: float


def token_error(status: int, body: Any) -> IntegrationError:
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    message = f"salesforce token endpoint: {error or status} {description}".strip()
    if error in RETRYABLE or status >= 500 or status == 429:
        return RetryableError(message, system=SYSTEM, code=error or str(status))
    if error in REVOKED:
        return CredentialsRevoked(message, system=SYSTEM, code=error)
    return PermanentError(message, system=SYSTEM, code=error or str(status))


class SalesforceAuth:
    """Fetches tokens. `SalesforceAuth(...).fetch_pair` fits `adapters.outbound.FetchingTokens`."""

    def __init__(self, login_url: str, client_id: str, *, client_secret: str | None = None,
                 private_key_pem: str | None = None, username: str | None = None,
                 audience: str = "https://login.salesforce.com", assumed_lifetime_s: float = 7200.0,
                 client: httpx.Client | None = None, clock: Callable[[], float] = time.time) -> None:
        if client_secret is None and (private_key_pem is None or username is None):
            raise ValueError("give client_secret (client credentials) or private_key_pem and username (JWT)")
        self.login_url = login_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.private_key_pem, self.username, self.audience = private_key_pem, username, audience
        self.assumed_lifetime_s = assumed_lifetime_s
        self._client = client or httpx.Client(timeout=30.0)
        self._clock = clock

    def form(self) -> dict[str, str]:
        """The token request: JWT bearer when a key is configured, else client credentials."""
        if self.private_key_pem is not None and self.username is not None:
            return {"grant_type": JWT_GRANT, "assertion": self.assertion()}
        return {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret or ""}

    def assertion(self) -> str:
        """RS256 (the only algorithm Salesforce takes); exp is short: the token is minted at once."""
        claims = {"iss": self.client_id, "sub": self.username, "aud": self.audience,
                  "exp": int(self._clock()) + 180}
        import jwt  # only the JWT bearer flow signs; ~70 ms of cold start spared for everyone else

        return jwt.encode(claims, self.private_key_pem or "", algorithm="RS256")

    def fetch(self) -> TokenGrant:
        try:
            response = self._client.post(f"{self.login_url}/services/oauth2/token", data=self.form())
        except httpx.HTTPError as exc:
            raise RetryableError(f"salesforce token endpoint unreachable: {type(exc).__name__}", system=SYSTEM,
                                 code="TRANSPORT") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200:
            raise token_error(response.status_code, body)
        return self._grant(body)

    def _grant(self, body: Any) -> TokenGrant:
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) \
                or not isinstance(body.get("instance_url"), str):
            raise PermanentError("salesforce token answer lacks access_token/instance_url", system=SYSTEM,
                                 code="BAD_TOKEN_RESPONSE")
        issued = str(body.get("issued_at") or "")
        issued_ms = int(issued) if issued.isdigit() else int(self._clock() * 1000)
        if issued.isdigit() and len(issued) <= 10:
            issued_ms *= 1000  # the docs say seconds; every real answer is milliseconds: accept both
        return TokenGrant(body["access_token"], body["instance_url"], issued_ms, str(body.get("id") or ""),
                          self.assumed_lifetime_s)

    def fetch_pair(self) -> tuple[str, float]:
        grant = self.fetch()
        return grant.access_token, grant.lifetime_s
