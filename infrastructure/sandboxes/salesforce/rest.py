"""sObject REST: read, create, update, delete, upsert by external id, platform event publish."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce.responses import record_url, sf_error, sf_json, with_attributes
from infrastructure.sandboxes.salesforce.schema import SfError

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

V = r"/services/data/v(?P<version>\d+\.\d)"
NAME = r"(?P<obj>[A-Za-z][A-Za-z0-9_]*)"


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError as exc:
        raise SfError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc
    if not isinstance(body, dict):
        raise SfError("JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
    return body


def register(sandbox: SalesforceSandbox) -> None:
    def guarded(handler: Any) -> Any:
        def run(request: Request) -> Response:
            try:
                return handler(sandbox, request)  # type: ignore[no-any-return]
            except SfError as error:
                return sf_error(error)
        return run

    sobject = f"{V}/sobjects/{NAME}"
    sandbox.route("GET", f"{sobject}/(?P<id>[A-Za-z0-9]+)", guarded(read))
    sandbox.route("PATCH", f"{sobject}/(?P<id>[A-Za-z0-9]+)", guarded(update))
    sandbox.route("DELETE", f"{sobject}/(?P<id>[A-Za-z0-9]+)", guarded(delete))
    sandbox.route("POST", f"{sobject}/?", guarded(create))
    sandbox.route("PATCH", f"{sobject}/(?P<field>[A-Za-z0-9_]+)/(?P<value>[^/]+)", guarded(upsert))
    sandbox.route("GET", f"{sobject}/(?P<field>[A-Za-z0-9_]+)/(?P<value>[^/]+)", guarded(read_by_external_id))


def read(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj = request.params["obj"]
    record = sandbox.org.get(obj, request.params["id"])
    names = request.arg("fields")
    fields = [name.strip() for name in names.split(",")] if names else None
    for name in fields or []:
        if name not in sandbox.org.schema(obj):
            raise SfError("INVALID_FIELD", f"No such column '{name}' on entity '{obj}'", [name])
    return sf_json(200, with_attributes(request.params["version"], obj, record, fields))


def create(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj = request.params["obj"]
    if obj.endswith("__e"):
        return publish(sandbox, request, obj)
    body = json_body(request)
    with sandbox.transaction(request) as tx:
        record_id = sandbox.org.insert(obj, body, tx)
    return sf_json(201, {"id": record_id, "success": True, "errors": []})


def update(sandbox: SalesforceSandbox, request: Request) -> Response:
    body = json_body(request)
    with sandbox.transaction(request) as tx:
        sandbox.org.update(request.params["obj"], request.params["id"], body, tx)
    return Response(204)


def delete(sandbox: SalesforceSandbox, request: Request) -> Response:
    with sandbox.transaction(request) as tx:
        sandbox.org.delete(request.params["obj"], request.params["id"], tx)
    return Response(204)


def upsert(sandbox: SalesforceSandbox, request: Request) -> Response:
    """VENDORS §0 #3: 201 created, 200 `created:false` (v46+; 204 before), 300 several, 404 bad field."""
    obj, field, value, version = (request.params[k] for k in ("obj", "field", "value", "version"))
    body = json_body(request)
    if "Id" in body:
        raise SfError("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: Id. Please check the "
                      "security settings of this field and verify that it is read/write for your profile or "
                      "permission set.", ["Id"])
    with sandbox.transaction(request) as tx:
        matches = sandbox.org.find_by_external_id(obj, field, value)
        if len(matches) > 1:
            return sf_json(300, [record_url(version, obj, m["Id"]) for m in matches])
        modern = float(version) >= 46.0
        if matches:
            sandbox.org.update(obj, matches[0]["Id"], body, tx)
            if not modern:
                return Response(204)
            return sf_json(200, {"id": matches[0]["Id"], "success": True, "errors": [], "created": False})
        if request.arg("updateOnly") == "true":
            raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
        record_id = sandbox.org.insert(obj, {**body, field: value}, tx)
    result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if modern:
        result["created"] = True
    return sf_json(201, result, {"Location": record_url(version, obj, record_id)})


def read_by_external_id(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj, version = request.params["obj"], request.params["version"]
    matches = sandbox.org.find_by_external_id(obj, request.params["field"], request.params["value"])
    if not matches:
        raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
    if len(matches) > 1:
        return sf_json(300, [record_url(version, obj, m["Id"]) for m in matches])
    return sf_json(200, with_attributes(version, obj, matches[0]))


def publish(sandbox: SalesforceSandbox, request: Request, event: str) -> Response:
    """A platform event: published after commit, so the result carries OPERATION_ENQUEUED."""
    body = {k: v for k, v in json_body(request).items() if k != "attributes"}
    bad = [name for name in body if not name.endswith("__c")]
    if bad:
        raise SfError("INVALID_FIELD", f"No such column '{bad[0]}' on sobject of type {event}", bad[:1])
    event_id = sandbox.minter.mint("e00")
    payload = {"CreatedDate": sandbox.now_iso(), "CreatedById": sandbox.user_id, "EventUuid": str(uuid.uuid4()),
               **body}
    sandbox.emitter.emit(sandbox.emitter.envelope(event, payload))
    return sf_json(201, {"id": event_id, "success": True, "errors": [
        {"statusCode": "OPERATION_ENQUEUED", "message": str(uuid.uuid4()), "fields": []}]})
