"""Zuora OAuth: client credentials at POST /oauth/token, form-encoded (VENDORS §0 #8).

The answer is {access_token, token_type: "bearer", expires_in: 3599, scope, jti}; a token is used
until it expires ("each token should be used until it expires"), so `tokens()` caches it in a
FetchingTokens. Production reads tokens the access manager stored instead (DESIGN §2.5); this is
what that manager and the local stack call. Zuora asks that no other auth header be sent here.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from adapters.outbound import FetchingTokens, retry_after_seconds
from application.errors import CredentialsRevoked, PermanentError, RetryableError

SYSTEM = "zuora"


class ZuoraAuth:
    """Fetches bearer tokens for one OAuth client. Raises only application errors."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 client: httpx.Client | None = None, timeout_s: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client_id, self._client_secret = client_id, client_secret
        self._client = client or httpx.Client(timeout=timeout_s)

    def fetch(self) -> tuple[str, float]:
        """(access token, lifetime in seconds)."""
        form = {"client_id": self._client_id, "client_secret": self._client_secret,
                "grant_type": "client_credentials"}
        try:
            response = self._client.post(f"{self.base_url}/oauth/token", data=form)
        except httpx.TransportError as exc:
            raise RetryableError(f"zuora token endpoint unreachable: {exc}", system=SYSTEM, code="TRANSPORT") from exc
        return self._token_of(response)

    def tokens(self, *, margin_s: float = 60.0) -> FetchingTokens:
        return FetchingTokens(self.fetch, margin_s=margin_s)

    @staticmethod
    def _token_of(response: httpx.Response) -> tuple[str, float]:
        body = _json(response)
        status = response.status_code
        if status == 200 and isinstance(body.get("access_token"), str):
            return body["access_token"], float(body.get("expires_in") or 3599)
        reason = f"{body.get('error', status)}: {body.get('error_description') or body.get('message') or ''}"
        if status == 429 or status >= 500:
            raise RetryableError(f"zuora token endpoint answered {status}: {reason}", system=SYSTEM,
                                 code=str(status), retry_after=retry_after_seconds(response))
        if status == 401 or body.get("error") in ("invalid_client", "unauthorized_client"):
            raise CredentialsRevoked(f"zuora refused the OAuth client: {reason}", system=SYSTEM, code=str(status))
        raise PermanentError(f"zuora token request failed ({status}): {reason}", system=SYSTEM, code=str(status))


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
