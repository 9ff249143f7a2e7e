"""Customers: create, retrieve, update, delete, list, search (docs.stripe.com/api/customers)."""

from __future__ import annotations

import copy
import functools
import secrets
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.stripe import params as p
from infrastructure.sandboxes.stripe.errors import InvalidParams, missing
from infrastructure.sandboxes.stripe.events import changed
from infrastructure.sandboxes.stripe.store import Obj

if TYPE_CHECKING:
    from infrastructure.sandboxes.stripe.app import StripeSandbox

FIELDS = ("name", "email", "phone", "description", "address", "shipping", "metadata", "tax_exempt", "expand")
MAX_LEN = {"name": 256, "email": 512, "phone": 20, "description": 350}
ADDRESS = ("line1", "line2", "city", "state", "postal_code", "country")
SEARCH_FIELDS = ("created", "email", "name", "phone")


def register(api: StripeSandbox) -> None:
    for method, pattern, handler in ROUTES:
        api.route(method, pattern, functools.partial(handler, api))


def _create(api: StripeSandbox, request: Request) -> Response:
    form = api.form(request)
    customer = _apply(api.store.new("cus", "customer") | _defaults(), form)
    api.store.save(customer)
    api.emit(request, "customer.created", customer)
    return api.ok(customer)


def _retrieve(api: StripeSandbox, request: Request) -> Response:
    return api.ok(_visible(api.store.get("customer", request.params["id"])))


def _update(api: StripeSandbox, request: Request) -> Response:
    before = _live(api, request.params["id"])
    customer = _apply(copy.deepcopy(before), api.form(request))  # all or nothing: a bad param changes nothing
    api.store.save(customer)
    if changed(before, customer):
        api.emit(request, "customer.updated", customer, changed(before, customer))
    return api.ok(customer)


def _delete(api: StripeSandbox, request: Request) -> Response:
    customer = _live(api, request.params["id"])
    customer["deleted"] = True
    api.store.save(customer)
    api.emit(request, "customer.deleted", {k: v for k, v in customer.items() if k != "deleted"})
    return api.ok(_visible(customer))


def _listing(api: StripeSandbox, request: Request) -> Response:
    query = api.form(request)
    p.only(query, ("limit", "starting_after", "ending_before", "email", "expand"))
    email = p.text(query, "email")
    items = api.store.newest_first("customer", lambda c: not c.get("deleted") and
                                   (email is None or c.get("email") == email))
    return api.ok(api.store.list_page("customer", "/v1/customers", query, items))


def _search(api: StripeSandbox, request: Request) -> Response:
    query = api.form(request)
    p.only(query, ("query", "limit", "page", "expand"))
    items = api.store.newest_first("customer", lambda c: not c.get("deleted"))
    return api.ok(api.store.search_page("/v1/customers/search", query, items, SEARCH_FIELDS))


ROUTES = (("POST", "/v1/customers", _create), ("GET", "/v1/customers", _listing),
          ("GET", "/v1/customers/search", _search), ("GET", r"/v1/customers/(?P<id>[^/]+)", _retrieve),
          ("POST", r"/v1/customers/(?P<id>[^/]+)", _update), ("DELETE", r"/v1/customers/(?P<id>[^/]+)", _delete))


def _defaults() -> Obj:
    return {"address": None, "balance": 0, "currency": None, "default_source": None, "delinquent": False,
            "description": None, "discount": None, "email": None, "invoice_prefix": secrets.token_hex(4).upper(),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                 "rendering_options": None},
            "name": None, "next_invoice_sequence": 1, "phone": None, "preferred_locales": [], "shipping": None,
            "tax_exempt": "none", "test_clock": None}


def _live(api: StripeSandbox, customer_id: str) -> Obj:
    customer = api.store.get("customer", customer_id)
    if customer.get("deleted"):
        raise missing("customer", customer_id)
    return customer


def _visible(customer: Obj) -> Obj:
    """A deleted customer is still retrievable, as a tombstone."""
    if customer.get("deleted"):
        return {"id": customer["id"], "object": "customer", "deleted": True}
    return customer


def _apply(customer: Obj, form: dict[str, Any]) -> Obj:
    p.only(form, FIELDS)
    for name, limit in MAX_LEN.items():
        if name in form:
            value = p.text(form, name, max_len=limit)
            customer[name] = value or None
    if customer.get("email") and ("@" not in customer["email"] or " " in customer["email"]):
        raise InvalidParams(f"Invalid email address: {customer['email']}", param="email", code="email_invalid")
    if "tax_exempt" in form:
        customer["tax_exempt"] = p.choice(form, "tax_exempt", ("none", "exempt", "reverse"))
    if "address" in form:
        customer["address"] = _address(p.hash_(form, "address"), "address")
    if "shipping" in form:
        customer["shipping"] = _shipping(p.hash_(form, "shipping"))
    customer["metadata"] = p.metadata(customer.get("metadata") or {}, form.get("metadata"))
    return customer


def _address(value: dict[str, Any] | str | None, label: str) -> Obj | None:
    """A nested hash replaces the stored one as a whole (only metadata merges)."""
    if not value:
        return None
    assert isinstance(value, dict)
    p.only(value, ADDRESS, label)
    return {part: (p.text(value, part, label=f"{label}[{part}]") or None) for part in ADDRESS}


def _shipping(value: dict[str, Any] | str | None) -> Obj | None:
    if not value:
        return None
    assert isinstance(value, dict)
    p.only(value, ("name", "phone", "address"), "shipping")
    name = p.text(value, "name", required=True, label="shipping[name]")
    if not isinstance(value.get("address"), dict):
        raise InvalidParams("Missing required param: shipping[address].", param="shipping[address]",
                            code="parameter_missing")
    return {"name": name, "phone": p.text(value, "phone", label="shipping[phone]") or None,
            "address": _address(value["address"], "shipping[address]")}
