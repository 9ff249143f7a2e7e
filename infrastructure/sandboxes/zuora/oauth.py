"""POST /oauth/token: client credentials, form-encoded only, no other auth header (VENDORS §0 #8)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from infrastructure.sandboxes.base import Request, Response, json_response

if TYPE_CHECKING:
    from infrastructure.sandboxes.zuora.app import ZuoraSandbox


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def token(sb: ZuoraSandbox, request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return _oauth_error(400, "invalid_request", "the body must be application/x-www-form-urlencoded")
    if "authorization" in request.headers:
        return _oauth_error(400, "invalid_request", "send the client credentials in the body, no auth header")
    form = {k: v[0] for k, v in request.form().items()}
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    if (form.get("client_id"), form.get("client_secret")) != (sb.client_id, sb.client_secret):
        return _oauth_error(401, "invalid_client", "Bad client credentials")
    access, lifetime = sb.tokens.issue()
    return json_response(200, {"access_token": access, "token_type": "bearer", "expires_in": int(lifetime),
                               "scope": f"user.{secrets.token_hex(16)} entity.{secrets.token_hex(16)} tenant.10000",
                               "jti": secrets.token_hex(16)})
