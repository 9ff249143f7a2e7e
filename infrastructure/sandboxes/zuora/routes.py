"""The Zuora routes of the sandbox: OAuth, accounts, orders, subscriptions, object queries; the
catalog, payments and admin routes are in routes_catalog.py. Handlers parse, run the tenant logic
under the sandbox lock, answer Zuora's shapes, and emit callouts after the lock is released."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.zuora import accounts, orders, query
from infrastructure.sandboxes.zuora.errors import NOT_FOUND, ZuoraFailure, answer, loads, ok
from infrastructure.sandboxes.zuora.oauth import token
from infrastructure.sandboxes.zuora.routes_catalog import KEY, register_admin, register_catalog

if TYPE_CHECKING:
    from infrastructure.sandboxes.zuora.app import ZuoraSandbox

_V1_HIDDEN = ("updatedDate",)  # the v1 subscription answer is not known to carry it; object queries do


def create_account(sb: ZuoraSandbox, request: Request) -> Response:
    body = loads(request.body)
    with sb.lock:
        accounts.check_account(body, sb.currencies, sb.payment_terms, partial=False)
        return ok(accounts.create_account(sb.tenant, body))


def get_account(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        return ok(accounts.v1_account(sb.tenant, accounts.find_account(sb.tenant, request.params["key"])))


def update_account(sb: ZuoraSandbox, request: Request) -> Response:
    body = loads(request.body)
    with sb.lock:
        account = accounts.find_account(sb.tenant, request.params["key"])
        accounts.check_account(body, sb.currencies, sb.payment_terms, partial=True)
        accounts.update_account(sb.tenant, account, body)
        event_account = dict(account)
    sb.callouts.emit("AccountUpdated", "account", event_account["id"], event_account, event_account["updatedDate"])
    return ok({})


def query_accounts(sb: ZuoraSandbox, request: Request) -> Response:
    expand = query.expansions(request)
    with sb.lock:
        rows = query.by_ids(request, sb.tenant.accounts)
        return answer(200, query.page(request, rows, lambda a: accounts.query_account(sb.tenant, a, expand)))


def query_account(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        account = sb.tenant.account(request.params["key"])
        if account is None:
            raise ZuoraFailure("query", NOT_FOUND, f"Account {request.params['key']} not found", status=404)
        return answer(200, accounts.query_account(sb.tenant, account, query.expansions(request)))


def place_order(sb: ZuoraSandbox, request: Request) -> Response:
    body = loads(request.body)
    if sb.order_delay_s:
        time.sleep(sb.order_delay_s)  # the order "is still running in the backend"
    with sb.lock:
        result, events = orders.place_order(sb.tenant, body, sb.subscription_fields)
        emitted = [(kind, dict(sb.tenant.subscriptions[n])) for kind, n in events]
        owners = {sub["accountId"]: dict(sb.tenant.accounts[sub["accountId"]]) for _, sub in emitted}
    for kind, sub in emitted:
        sb.callouts.emit(kind, "subscription", sub["id"], owners[sub["accountId"]], sub["updatedDate"])
    return ok(result)


def get_subscription(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        sub = sb.tenant.subscription(request.params["key"])
        if sub is None:
            raise ZuoraFailure("subscription", NOT_FOUND, f"Subscription {request.params['key']} does not exist")
        return ok({k: v for k, v in sub.items() if k not in _V1_HIDDEN})


def _query_row(sub: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if k != "ratePlans"}


def query_subscriptions(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        return answer(200, query.page(request, list(sb.tenant.subscriptions.values()), _query_row))


def register(sb: ZuoraSandbox) -> None:
    sb.route("POST", "/oauth/token", partial(token, sb))
    for method, path, handler in (
            ("POST", "/v1/accounts", create_account), ("GET", f"/v1/accounts/{KEY}", get_account),
            ("PUT", f"/v1/accounts/{KEY}", update_account), ("GET", "/object-query/accounts", query_accounts),
            ("GET", f"/object-query/accounts/{KEY}", query_account), ("POST", "/v1/orders", place_order),
            ("GET", f"/v1/subscriptions/{KEY}", get_subscription),
            ("GET", "/object-query/subscriptions", query_subscriptions)):
        sb.api(method, path, partial(handler, sb))
    register_catalog(sb)
    register_admin(sb)
