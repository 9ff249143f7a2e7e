"""The Zuora routes of the sandbox: OAuth, accounts, orders, subscriptions, catalog, object queries,
payments. Handlers parse, call the tenant logic under the sandbox lock, and answer Zuora's shapes."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response, json_response
from infrastructure.sandboxes.zuora import accounts, catalog, orders, query
from infrastructure.sandboxes.zuora.errors import NOT_FOUND, ZuoraFailure, answer, loads, ok

if TYPE_CHECKING:
    from infrastructure.sandboxes.zuora.app import ZuoraSandbox

KEY = r"(?P<key>[^/]+)"
_V1_HIDDEN = ("updatedDate",)


def _oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description})


def token(sb: ZuoraSandbox, request: Request) -> Response:
    """POST /oauth/token: form-encoded client credentials only, no other auth header."""
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


def v1_subscription(sub: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if k not in _V1_HIDDEN}


def _query_subscription(sub: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sub.items() if k != "ratePlans"}


def register(sb: ZuoraSandbox) -> None:
    sb.route("POST", "/oauth/token", lambda r: token(sb, r))
    _register_accounts(sb)
    _register_subscriptions(sb)
    _register_catalog(sb)
    _register_admin(sb)


def _register_accounts(sb: ZuoraSandbox) -> None:
    def create(request: Request) -> Response:
        body = loads(request.body)
        with sb.lock:
            accounts.check_account(body, sb.currencies, sb.payment_terms, partial=False)
            return ok(accounts.create_account(sb.tenant, body))

    def get_v1(request: Request) -> Response:
        with sb.lock:
            account = accounts.find_account(sb.tenant, request.params["key"])
            return ok(accounts.v1_account(sb.tenant, account))

    def update(request: Request) -> Response:
        body = loads(request.body)
        with sb.lock:
            account = accounts.find_account(sb.tenant, request.params["key"])
            accounts.check_account(body, sb.currencies, sb.payment_terms, partial=True)
            accounts.update_account(sb.tenant, account, body)
            event_account = dict(account)
        sb.callouts.emit("AccountUpdated", "account", event_account["id"], event_account)
        return ok({})

    def query_all(request: Request) -> Response:
        expand = query.expansions(request)
        with sb.lock:
            rows = list(sb.tenant.accounts.values())
            return answer(200, query.page(request, rows, lambda a: accounts.query_account(sb.tenant, a, expand)))

    def query_one(request: Request) -> Response:
        with sb.lock:
            account = sb.tenant.account(request.params["key"])
            if account is None:
                raise ZuoraFailure("query", NOT_FOUND, f"Account {request.params['key']} not found", status=404)
            return answer(200, accounts.query_account(sb.tenant, account, query.expansions(request)))

    sb.api("POST", "/v1/accounts", create)
    sb.api("GET", f"/v1/accounts/{KEY}", get_v1)
    sb.api("PUT", f"/v1/accounts/{KEY}", update)
    sb.api("GET", "/object-query/accounts", query_all)
    sb.api("GET", f"/object-query/accounts/{KEY}", query_one)


def _register_subscriptions(sb: ZuoraSandbox) -> None:
    def place(request: Request) -> Response:
        body = loads(request.body)
        if sb.order_delay_s:
            time.sleep(sb.order_delay_s)  # the order "is still running in the backend"
        with sb.lock:
            result, events = orders.place_order(sb.tenant, body, sb.subscription_fields)
            emitted = [(kind, dict(sb.tenant.subscriptions[n])) for kind, n in events]
            owners = {sub["accountId"]: dict(sb.tenant.accounts[sub["accountId"]]) for _, sub in emitted}
        for kind, sub in emitted:
            sb.callouts.emit(kind, "subscription", sub["id"], owners[sub["accountId"]])
        return ok(result)

    def get_one(request: Request) -> Response:
        with sb.lock:
            sub = sb.tenant.subscription(request.params["key"])
            if sub is None:
                raise ZuoraFailure("subscription", NOT_FOUND, f"Subscription {request.params['key']} does not exist")
            return ok(v1_subscription(sub))

    def query_all(request: Request) -> Response:
        with sb.lock:
            rows = list(sb.tenant.subscriptions.values())
            return answer(200, query.page(request, rows, _query_subscription))

    sb.api("POST", "/v1/orders", place)
    sb.api("GET", f"/v1/subscriptions/{KEY}", get_one)
    sb.api("GET", "/object-query/subscriptions", query_all)


def _crud(sb: ZuoraSandbox, method: str, path: str, write: Any) -> None:
    def handler(request: Request) -> Response:
        body = loads(request.body)
        with sb.lock:
            object_id = write(body, request.params.get("key"))
        return answer(200, {"Success": True, "Id": object_id})

    sb.api(method, path, handler, crud=True)


def _register_catalog(sb: ZuoraSandbox) -> None:
    def t() -> Any:  # the tenant object changes on reset: look it up on every call
        return sb.tenant

    _crud(sb, "POST", "/v1/object/product", lambda b, _: catalog.create_product(t(), b))
    _crud(sb, "PUT", f"/v1/object/product/{KEY}", lambda b, k: catalog.update_product(t(), k, b))
    _crud(sb, "POST", "/v1/object/product-rate-plan", lambda b, _: catalog.create_plan(t(), b))
    _crud(sb, "PUT", f"/v1/object/product-rate-plan/{KEY}", lambda b, k: catalog.update_plan(t(), k, b))
    _crud(sb, "POST", "/v1/object/product-rate-plan-charge",
          lambda b, _: catalog.create_charge(t(), b, sb.currencies, sb.units))

    def product(request: Request) -> Response:
        with sb.lock:
            found = sb.tenant.product(request.params["key"])
            if found is None:
                raise ZuoraFailure("catalog", NOT_FOUND, f"Product {request.params['key']} does not exist")
            return ok(catalog.catalog_product(sb.tenant, found))

    def products(request: Request) -> Response:
        with sb.lock:
            rows = list(sb.tenant.products.values())
            paged = query.page(request, rows, lambda p: catalog.catalog_product(sb.tenant, p))
        return ok({"products": paged["data"], **({"nextPage": paged["nextPage"]} if "nextPage" in paged else {})})

    sb.api("GET", f"/v1/catalog/product/{KEY}", product)
    sb.api("GET", "/v1/catalog/products", products)
    sb.api("GET", "/object-query/products", products)
    sb.api("GET", f"/v1/object/payment/{KEY}", lambda r: _payment(sb, r))


def _payment(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        payment = sb.tenant.payments.get(request.params["key"])
    if payment is None:
        return answer(404, {"Success": False, "Errors": [{"Code": "INVALID_ID", "Message": "invalid payment id"}]})
    return answer(200, payment)


def record_payment(sb: ZuoraSandbox, request: Request) -> Response:
    """Admin: a payment run's outcome for an account, as a real tenant's gateway would report it."""
    body = request.json() or {}
    outcome = body.get("outcome")
    with sb.lock:
        account = sb.tenant.account(str(body.get("accountNumber")))
        if account is None or outcome not in ("failed", "processed"):
            return json_response(404 if account is None else 400, {"error": "unknown account or outcome"})
        balance = Decimal(str(account["balance"]))
        amount = Decimal(str(body.get("amount") or (balance if outcome == "processed" and balance else "10.00")))
        account["balance"] = balance + amount if outcome == "failed" else max(Decimal(0), balance - amount)
        account["updatedDate"] = stamp = sb.tenant.stamp()
        payment_id = sb.tenant.new_id()
        payment = {"Id": payment_id, "PaymentNumber": sb.tenant.next_number("payment"), "AccountId": account["id"],
                   "Amount": amount, "Status": "Error" if outcome == "failed" else "Processed",
                   "EffectiveDate": sb.tenant.today(), "UpdatedDate": stamp}
        sb.tenant.payments[payment_id] = payment
        owner = dict(account)
    sb.callouts.emit("PaymentFailed" if outcome == "failed" else "PaymentProcessed", "payment", payment_id, owner)
    return answer(200, payment)


def _register_admin(sb: ZuoraSandbox) -> None:
    def delay(request: Request) -> Response:
        sb.order_delay_s = float((request.json() or {}).get("seconds", 0))
        return json_response(200, {"orderDelaySeconds": sb.order_delay_s})

    sb.route("POST", "/__sandbox/payments", lambda r: record_payment(sb, r))
    sb.route("POST", "/__sandbox/order-delay", delay)
    sb.route("GET", "/__sandbox/callouts", lambda r: answer(200, list(sb.callouts.log)))
