"""sObject Collections: create, update, upsert (≤200 records, allOrNone default false), read and delete
by ids. Each record answers for itself with `statusCode` errors, under a top-level 200 (VENDORS §0 #2, #4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce.ids import KEY_PREFIXES
from infrastructure.sandboxes.salesforce.responses import sf_json, with_attributes
from infrastructure.sandboxes.salesforce.schema import SfError

if TYPE_CHECKING:
    from collections.abc import Callable

    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

V = r"/services/data/v(?P<version>\d+\.\d)"
MAX_RECORDS = 200
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK", "message": "Record rolled back because not all "
               "records were valid and the request was using AllOrNone header", "fields": []}


class Rollback(Exception):
    """Control flow: undo an allOrNone transaction."""


def register(sandbox: SalesforceSandbox, guarded: Callable[[Any], Any]) -> None:
    sandbox.route("POST", f"{V}/composite/sobjects/?", guarded(lambda s, r: collection(s, r, "create")))
    sandbox.route("PATCH", f"{V}/composite/sobjects/?", guarded(lambda s, r: collection(s, r, "update")))
    sandbox.route("DELETE", f"{V}/composite/sobjects/?", guarded(delete_by_ids))
    sandbox.route("PATCH", f"{V}/composite/sobjects/(?P<obj>\\w+)/(?P<field>\\w+)",
                  guarded(lambda s, r: collection(s, r, "upsert")))
    sandbox.route("GET", f"{V}/composite/sobjects/(?P<obj>\\w+)", guarded(read_by_ids))


def _ids(request: Request) -> list[str]:
    ids = [i for i in (request.arg("ids") or "").split(",") if i]
    if not ids or len(ids) > MAX_RECORDS:
        raise SfError("EXCEEDED_ID_LIMIT" if ids else "MISSING_ARGUMENT", "ids: between 1 and 200 ids are needed")
    return ids


def _one(sandbox: SalesforceSandbox, request: Request, kind: str, record: Any, tx: Any) -> dict[str, Any]:
    """One record of a collection: its result, or its error in the collections shape."""
    record_id = record.get("Id") if isinstance(record, dict) else None
    try:
        if not isinstance(record, dict) or not isinstance(record.get("attributes"), dict):
            raise SfError("INVALID_TYPE", "Must send a concrete entity type.")
        obj = request.params.get("obj") or record["attributes"].get("type", "")
        values = {k: v for k, v in record.items() if k not in ("attributes", "Id")}
        if kind == "create":
            return {"id": sandbox.org.insert(obj, values, tx), "success": True, "errors": []}
        if kind == "update":
            sandbox.org.update(obj, str(record_id or ""), values, tx)
            return {"id": record_id, "success": True, "errors": []}
        field = request.params["field"]
        matches = sandbox.org.find_by_external_id(obj, field, str(values.get(field, "")))
        if len(matches) > 1:
            raise SfError("DUPLICATE_EXTERNAL_ID", f"{field}: more than one record found for external id field",
                          [field])
        if matches:
            sandbox.org.update(obj, matches[0]["Id"], values, tx)
            return {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
        return {"id": sandbox.org.insert(obj, values, tx), "success": True, "errors": [], "created": True}
    except SfError as error:
        failed: dict[str, Any] = {"success": False, "errors": [error.as_collection()]}
        return {"id": record_id, **failed} if record_id else failed


def collection(sandbox: SalesforceSandbox, request: Request, kind: str) -> Response:
    body = request.json() if request.body else None
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise SfError("JSON_PARSER_ERROR", "The request body must be an object with a records array")
    records: list[Any] = body["records"]
    if len(records) > MAX_RECORDS:
        raise SfError("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
    all_or_none = bool(body.get("allOrNone", False))
    results: list[dict[str, Any]] = []
    try:
        with sandbox.transaction(request, atomic=all_or_none) as tx:
            results = [_one(sandbox, request, kind, record, tx) for record in records]
            if all_or_none and not all(r["success"] for r in results):
                raise Rollback
    except Rollback:
        results = [r if not r["success"] else {"id": r["id"], "success": False, "errors": [ROLLED_BACK]}
                   for r in results]
    return sf_json(200, results)


def read_by_ids(sandbox: SalesforceSandbox, request: Request) -> Response:
    """GET ?ids=&fields=: one record per id, null where there is none."""
    obj, version = request.params["obj"], request.params["version"]
    fields = [f for f in (request.arg("fields") or "Id").split(",") if f]
    rows: list[Any] = []
    for record_id in _ids(request):
        try:
            rows.append(with_attributes(version, obj, sandbox.org.get(obj, record_id), fields))
        except SfError as error:
            if error.status != 404 and error.code != "MALFORMED_ID":
                raise
            rows.append(None)
    return sf_json(200, rows)


def delete_by_ids(sandbox: SalesforceSandbox, request: Request) -> Response:
    by_prefix = {prefix: obj for obj, prefix in KEY_PREFIXES.items()}
    results = []
    with sandbox.transaction(request) as tx:
        for record_id in _ids(request):
            try:
                sandbox.org.delete(by_prefix.get(record_id[:3], "?"), record_id, tx)
                results.append({"id": record_id, "success": True, "errors": []})
            except SfError as error:
                results.append({"id": record_id, "success": False, "errors": [error.as_collection()]})
    return sf_json(200, results)
