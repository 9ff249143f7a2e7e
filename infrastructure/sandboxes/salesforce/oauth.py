"""`POST /services/oauth2/token`: client credentials (form or HTTP Basic) and the JWT bearer flow.

Answers as Salesforce does (VENDORS §1.1): access_token, instance_url, id, token_type "Bearer",
issued_at in milliseconds as a string, signature = base64 HMAC-SHA256(secret, id + issued_at),
and no `expires_in`. Errors are `{"error", "error_description"}` with HTTP 400 (401 for a bad
client secret under Basic auth is not reproduced: Salesforce answers 400 there too).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

import jwt

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce.responses import sf_json

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
CLOCK_SKEW_S = 180  # Salesforce allows about three minutes of skew on `exp`


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return sf_json(status, {"error": error, "error_description": description})


def _client_pair(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return form.get("client_id", ""), form.get("client_secret", "")


def token_endpoint(sandbox: SalesforceSandbox, request: Request) -> Response:
    if "x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        return oauth_error("invalid_request", "request must be application/x-www-form-urlencoded")
    form = {key: values[0] for key, values in request.form().items()}
    grant = form.get("grant_type")
    if grant == "client_credentials":
        client_id, secret = _client_pair(request, form)
        if client_id != sandbox.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret, sandbox.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        return _issue(sandbox, client_credentials=True)
    if grant == JWT_GRANT:
        problem = _check_assertion(sandbox, form.get("assertion", ""))
        return oauth_error("invalid_grant", problem) if problem else _issue(sandbox, client_credentials=False)
    if not grant:
        return oauth_error("unsupported_grant_type", "grant type not supported")
    return oauth_error("unsupported_grant_type", "grant type not supported")


def _check_assertion(sandbox: SalesforceSandbox, assertion: str) -> str | None:
    """None when the assertion is good; otherwise Salesforce's error_description."""
    if sandbox.jwt_public_key_pem is None:
        return "invalid assertion"
    try:
        header = jwt.get_unverified_header(assertion)
        if header.get("alg") != "RS256":  # the only algorithm Salesforce accepts
            return "invalid assertion"
        claims: dict[str, Any] = jwt.decode(assertion, sandbox.jwt_public_key_pem, algorithms=["RS256"],
                                            options={"verify_exp": False, "verify_aud": False})
    except jwt.PyJWTError:
        return "invalid assertion"
    if claims.get("iss") != sandbox.client_id:
        return "invalid_client_id"
    if claims.get("aud") not in (*AUDIENCES, sandbox.url):
        return "audience is invalid"
    if not isinstance(claims.get("exp"), int) or claims["exp"] + CLOCK_SKEW_S < sandbox.clock.now():
        return "expired authorization code"
    if sandbox.jwt_users and claims.get("sub") not in sandbox.jwt_users:
        return "user hasn't approved this consumer"
    return None


def _issue(sandbox: SalesforceSandbox, *, client_credentials: bool) -> Response:
    token = f"{sandbox.org_id[:15]}!{secrets.token_urlsafe(48)}"
    sandbox.remember_token(token)
    issued_at = str(int(sandbox.clock.now() * 1000))
    identity = f"{sandbox.url}/id/{sandbox.org_id}/{sandbox.user_id}"
    signature = base64.b64encode(hmac.new(sandbox.client_secret.encode(), (identity + issued_at).encode(),
                                          hashlib.sha256).digest()).decode()
    body = {"access_token": token, "signature": signature, "scope": "api", "instance_url": sandbox.url,
            "id": identity, "token_type": "Bearer", "issued_at": issued_at}
    if client_credentials:
        body["api_instance_url"] = sandbox.url
    return sf_json(200, body)
