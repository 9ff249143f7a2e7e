"""Read-only resources: events (kept 30 days at Stripe; for the sandbox's life here) and invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.stripe import params as p

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox


def register(api: StripeSandbox) -> None:
    def events(request: Request) -> Response:
        query = api.form(request)
        p.only(query, ("limit", "starting_after", "ending_before", "type", "expand"))
        wanted = p.text(query, "type")
        items = api.store.newest_first("event", lambda event: wanted is None or event["type"] == wanted)
        return api.ok(api.store.list_page("event", "/v1/events", query, items))

    def invoices(request: Request) -> Response:
        query = api.form(request)
        p.only(query, ("limit", "starting_after", "ending_before", "customer", "subscription", "status", "expand"))
        wanted = {name: query[name] for name in ("customer", "subscription", "status") if name in query}
        items = api.store.newest_first("invoice", lambda inv: all(inv.get(k) == v for k, v in wanted.items()))
        return api.ok(api.store.list_page("invoice", "/v1/invoices", query, items))

    api.route("GET", "/v1/events", events)
    api.route("GET", r"/v1/events/(?P<id>[^/]+)", lambda request: api.ok(api.store.get("event", request.params["id"])))
    api.route("GET", "/v1/invoices", invoices)
    api.route("GET", r"/v1/invoices/(?P<id>[^/]+)",
              lambda request: api.ok(api.store.get("invoice", request.params["id"])))
