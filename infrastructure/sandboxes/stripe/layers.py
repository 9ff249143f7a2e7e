"""The layers in front of Stripe's endpoints: authentication and the idempotency layer.

Failures answered here before an endpoint begins executing are never saved under an idempotency key.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.stripe import admin
from infrastructure.sandboxes.stripe.errors import InvalidParams, StripeError

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

MAX_KEY = 255


def authenticate(request: Request, keys: set[str], *, revoked: bool) -> None:
    key = _api_key(request.headers.get("authorization", ""))
    if not key:
        raise unsaved(StripeError(401, "You did not provide an API key. You need to provide your API key in "
                                        "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                                        "Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#"
                                        "authentication for details, or we can help at "
                                        "https://support.stripe.com/."))
    if revoked or key not in keys:
        raise unsaved(StripeError(401, f"Invalid API Key provided: {_mask(key)}"))


def idempotent(api: StripeSandbox, request: Request, request_id: str, key: str) -> Response:
    """A keyed POST: replay the saved answer, refuse a mismatch (400) or a key in flight (409), or run the
    endpoint and save its answer unless it failed before executing."""
    if not key or len(key) > MAX_KEY:
        raise InvalidParams(f"Invalid Idempotency-Key: keys are 1 to {MAX_KEY} characters long.")
    state, stored = api.idempotency.begin(key, _fingerprint(request))
    if state == "replay" and stored is not None:
        return Response(stored.status, stored.body, {**stored.headers, "Idempotent-Replayed": "true",
                                                     "Original-Request": stored.headers.get("Request-Id", "")})
    if state == "mismatch":
        raise StripeError(400, "Keys for idempotent requests can only be used with the same parameters they "
                               f"were first used with. Try using a key other than '{key}' if you meant to "
                               "execute a different request.", type_="idempotency_error")
    if state == "in_progress":
        raise StripeError(409, "There is currently another in-progress request using this Idempotent Key "
                               "(that probably means you submitted twice, and the other request is still "
                               f"going through): {key}. Please try again later.",
                          type_="idempotency_error", code="idempotency_key_in_use")
    try:
        response = admin.scripted_failure(api, request_id) or api.execute(request)
    except StripeError as exc:
        response = exc.response(request_id)
        api.idempotency.finish(key, response if exc.saved else None)
        return response
    except BaseException:
        api.idempotency.finish(key, None)
        raise
    response.headers["Request-Id"] = request_id
    api.idempotency.finish(key, response)
    return response


def unsaved(error: StripeError) -> StripeError:
    error.saved = False
    return error


def _fingerprint(request: Request) -> str:
    pairs = sorted(parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
    return json.dumps([request.method, request.path, pairs])


def _api_key(header: str) -> str | None:
    """Bearer <key>, or Basic auth with the key as user name and no password (curl -u sk_test_…:)."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip()).decode().partition(":")[0] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def _mask(key: str) -> str:
    """Stripe shows a refused key's kind and last four characters only: sk_test_********1234."""
    parts = key.split("_")
    prefix = "_".join(parts[:2]) + "_" if len(parts) > 2 else ""
    return prefix + "*" * max(4, len(key) - len(prefix) - 4) + key[-4:]
