"""Sandbox-only endpoints (never part of Stripe's API), beside the base's faults/clock/reset/stats:

    POST /__sandbox/invoices   {"subscription": "sub_…", "outcome": "paid" | "payment_failed"} (billing.py)
    POST /__sandbox/fail-next  {"count": 1, "kind": "saved_500" | "lock_timeout"}: the next keyed POSTs
                               fail as Stripe's do: saved_500 is stored under the key and replayed, with
                               Stripe-Should-Retry: false; lock_timeout is a 429 (code lock_timeout) with
                               Stripe-Should-Retry: true, not stored
    GET  /__sandbox/webhooks   every webhook delivery attempt: event, type, attempt, status
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infrastructure.sandboxes.base import Request, Response, json_response
from infrastructure.sandboxes.stripe import billing
from infrastructure.sandboxes.stripe.errors import StripeError

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

KINDS = ("saved_500", "lock_timeout")


def register(api: StripeSandbox) -> None:
    def invoices(request: Request) -> Response:
        body = request.json() or {}
        outcome = body.get("outcome")
        if outcome not in ("paid", "payment_failed"):
            return json_response(400, {"error": "outcome must be paid or payment_failed"})
        with api.lock:
            subscription = api.store.objects.get("subscription", {}).get(str(body.get("subscription")))
            if subscription is None:
                return json_response(404, {"error": f"no subscription {body.get('subscription')!r}"})
            if subscription["status"] in ("canceled", "incomplete_expired"):
                return json_response(409, {"error": "the subscription has ended"})
            return api.ok(billing.settle(api, subscription, outcome))

    def fail_next(request: Request) -> Response:
        body = request.json() or {}
        kind = body.get("kind", "saved_500")
        if kind not in KINDS:
            return json_response(400, {"error": f"kind must be one of {KINDS}"})
        api.fail_next.extend([kind] * int(body.get("count", 1)))
        return json_response(200, {"pending": list(api.fail_next)})

    def webhooks(request: Request) -> Response:
        return json_response(200, {"deliveries": list(api.events.deliveries)})

    def keys(request: Request) -> Response:
        """Roll API keys as the Dashboard does: add the new key, later expire the old one."""
        body = request.json() or {}
        with api.lock:
            api.api_keys |= set(body.get("add") or [])
            api.api_keys -= set(body.get("remove") or [])
        return json_response(200, {"keys": len(api.api_keys)})

    api.route("POST", "/__sandbox/invoices", invoices)
    api.route("POST", "/__sandbox/keys", keys)
    api.route("POST", "/__sandbox/fail-next", fail_next)
    api.route("GET", "/__sandbox/webhooks", webhooks)


def scripted_failure(api: StripeSandbox, request_id: str) -> Response | None:
    """The next scripted failure for a keyed POST, or None to run the endpoint."""
    if not api.fail_next:
        return None
    kind = api.fail_next.pop(0)
    if kind == "lock_timeout":
        error = StripeError(429, "This object cannot be accessed right now because another API request or Stripe "
                                 "process is currently accessing it. If you see this error intermittently, retry "
                                 "the request.", code="lock_timeout", headers={"Stripe-Should-Retry": "true"})
        error.saved = False
        raise error
    return StripeError(500, "An unknown error occurred", type_="api_error",
                       headers={"Stripe-Should-Retry": "false"}).response(request_id)
