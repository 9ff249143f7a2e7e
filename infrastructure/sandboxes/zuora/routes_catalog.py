"""Catalog routes (CRUD writes, catalog reads), payments and the Zuora admin endpoints."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response, json_response
from infrastructure.sandboxes.zuora import catalog, query
from infrastructure.sandboxes.zuora.errors import NOT_FOUND, ZuoraFailure, answer, loads, ok
from infrastructure.sandboxes.zuora.state import Tenant

if TYPE_CHECKING:
    from infrastructure.sandboxes.zuora.app import ZuoraSandbox

KEY = r"(?P<key>[^/]+)"
CATALOG_PAGE_MAX = 40
Write = Callable[[Tenant, Any, str | None], str]


def _crud(sb: ZuoraSandbox, write: Write, request: Request) -> Response:
    body = loads(request.body)
    with sb.lock:
        object_id = write(sb.tenant, body, request.params.get("key"))
    return answer(200, {"Success": True, "Id": object_id})


def product(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        found = sb.tenant.product(request.params["key"])
        if found is None:
            raise ZuoraFailure("catalog", NOT_FOUND, f"Product {request.params['key']} does not exist")
        return ok(catalog.catalog_product(sb.tenant, found))


def products(sb: ZuoraSandbox, request: Request) -> Response:
    """GET /v1/catalog/products: `page` (from 1) and `pageSize` (at most 40); `nextPage` is a URL."""
    try:
        page, size = int(request.arg("page") or 1), int(request.arg("pageSize") or 10)
    except ValueError as exc:
        raise ZuoraFailure("catalog", "20", "'page' and 'pageSize' must be numbers") from exc
    if page < 1 or not 1 <= size <= CATALOG_PAGE_MAX:
        raise ZuoraFailure("catalog", "20", f"'pageSize' must be between 1 and {CATALOG_PAGE_MAX}")
    with sb.lock:
        rows = list(sb.tenant.products.values())
        shown = [catalog.catalog_product(sb.tenant, p) for p in rows[(page - 1) * size:page * size]]
    more = {"nextPage": f"/v1/catalog/products?page={page + 1}&pageSize={size}"} if page * size < len(rows) else {}
    return ok({"products": shown, **more})


def query_products(sb: ZuoraSandbox, request: Request) -> Response:
    """GET /object-query/products: flat product rows, cursor paging."""
    names = {"Id": "id", "SKU": "sku", "Name": "name", "Description": "description",
             "EffectiveStartDate": "effectiveStartDate", "EffectiveEndDate": "effectiveEndDate",
             "UpdatedDate": "updatedDate"}
    with sb.lock:
        rows = [{names[k]: v for k, v in p.items() if k in names} for p in sb.tenant.products.values()]
    return answer(200, query.page(request, rows, dict))


def payment(sb: ZuoraSandbox, request: Request) -> Response:
    with sb.lock:
        found = sb.tenant.payments.get(request.params["key"])
    if found is None:
        return answer(404, {"Success": False, "Errors": [{"Code": "INVALID_ID", "Message": "invalid payment id"}]})
    return answer(200, found)


def register_catalog(sb: ZuoraSandbox) -> None:
    writes: list[tuple[str, str, Write]] = [
        ("POST", "/v1/object/product", lambda t, b, _: catalog.create_product(t, b)),
        ("PUT", f"/v1/object/product/{KEY}", lambda t, b, k: catalog.update_product(t, str(k), b)),
        ("POST", "/v1/object/product-rate-plan", lambda t, b, _: catalog.create_plan(t, b)),
        ("PUT", f"/v1/object/product-rate-plan/{KEY}", lambda t, b, k: catalog.update_plan(t, str(k), b)),
        ("POST", "/v1/object/product-rate-plan-charge",
         lambda t, b, _: catalog.create_charge(t, b, sb.currencies, sb.units))]
    for method, path, write in writes:
        sb.api(method, path, partial(_crud, sb, write), crud=True)
    sb.api("GET", f"/v1/catalog/product/{KEY}", partial(product, sb))
    sb.api("GET", "/v1/catalog/products", partial(products, sb))
    sb.api("GET", "/object-query/products", partial(query_products, sb))
    sb.api("GET", f"/v1/object/payment/{KEY}", partial(payment, sb))


def record_payment(sb: ZuoraSandbox, request: Request) -> Response:
    """Admin: a payment run's outcome for an account, as the tenant's payment gateway would report it."""
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
        record = {"Id": payment_id, "PaymentNumber": sb.tenant.next_number("payment"), "AccountId": account["id"],
                  "Amount": amount, "Status": "Error" if outcome == "failed" else "Processed",
                  "EffectiveDate": sb.tenant.today(), "UpdatedDate": stamp}
        sb.tenant.payments[payment_id] = record
        owner = dict(account)
    kind = "PaymentFailed" if outcome == "failed" else "PaymentProcessed"
    sb.callouts.emit(kind, "payment", payment_id, owner, record["UpdatedDate"])
    return answer(200, record)


def order_delay(sb: ZuoraSandbox, request: Request) -> Response:
    sb.order_delay_s = float((request.json() or {}).get("seconds", 0))
    return json_response(200, {"orderDelaySeconds": sb.order_delay_s})


def register_admin(sb: ZuoraSandbox) -> None:
    sb.route("POST", "/__sandbox/payments", partial(record_payment, sb))
    sb.route("POST", "/__sandbox/order-delay", partial(order_delay, sb))
    sb.route("GET", "/__sandbox/callouts", lambda r: answer(200, list(sb.callouts.log)))
