"""The Tooling API objects setup-relay touches: NamedCredential, PlatformEventChannel,
PlatformEventChannelMember, EventRelayConfig (`{"FullName", "Metadata"}` bodies), and the
EventRelayFeedback rows a relay reports through (queried with plain SOQL, VENDORS §1.6).

A relay is created in STOP; PATCHing its Metadata state to RUN starts delivery on its channel, from
the partner event source `aws.partner/salesforce.com/<orgId>/<channelId>`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce import query as run
from infrastructure.sandboxes.salesforce.ids import KEY_PREFIXES
from infrastructure.sandboxes.salesforce.querying import next_page, page
from infrastructure.sandboxes.salesforce.responses import sf_error, sf_json, with_attributes
from infrastructure.sandboxes.salesforce.rest import json_body
from infrastructure.sandboxes.salesforce.schema import SfError
from infrastructure.sandboxes.salesforce.soql import parse

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

V = r"/services/data/v(?P<version>\d+\.\d)/tooling"
OBJECTS = ("NamedCredential", "PlatformEventChannel", "PlatformEventChannelMember", "EventRelayConfig")
Record = dict[str, Any]


def register(sandbox: SalesforceSandbox) -> None:
    def guarded(handler: Any) -> Any:
        def serve(request: Request) -> Response:
            try:
                with sandbox.lock:
                    return handler(sandbox, request)  # type: ignore[no-any-return]
            except SfError as error:
                return sf_error(error)
        return serve

    sandbox.route("POST", f"{V}/sobjects/(?P<obj>\\w+)/?", guarded(create))
    sandbox.route("GET", f"{V}/sobjects/(?P<obj>\\w+)/(?P<id>\\w+)", guarded(read))
    sandbox.route("PATCH", f"{V}/sobjects/(?P<obj>\\w+)/(?P<id>\\w+)", guarded(update))
    sandbox.route("GET", f"{V}/query/?", guarded(tooling_query))
    sandbox.route("GET", f"{V}/query/(?P<locator>[A-Za-z0-9]+)-(?P<offset>\\d+)", guarded(next_page))


def _table(sandbox: SalesforceSandbox, obj: str) -> dict[str, Record]:
    if obj not in OBJECTS:
        raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
    return sandbox.tooling.setdefault(obj, {})


def _flatten(full_name: str, metadata: dict[str, Any]) -> Record:
    flat = {key[0].upper() + key[1:]: value for key, value in metadata.items() if not isinstance(value, dict | list)}
    return {"FullName": full_name, "DeveloperName": full_name.removesuffix("__chn"),
            "MasterLabel": metadata.get("label", full_name), "Metadata": metadata, **flat}


def _find(sandbox: SalesforceSandbox, obj: str, full_name: str) -> Record | None:
    return next((r for r in _table(sandbox, obj).values() if r["FullName"] == full_name), None)


def create(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj = request.params["obj"]
    table = _table(sandbox, obj)
    body = json_body(request)
    full_name, metadata = body.get("FullName"), body.get("Metadata")
    if not isinstance(full_name, str) or not isinstance(metadata, dict):
        raise SfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]")
    if _find(sandbox, obj, full_name) is not None:
        raise SfError("DUPLICATE_DEVELOPER_NAME", f"This developer name is already in use: {full_name}",
                      ["FullName"])
    _check(sandbox, obj, metadata)
    if obj == "EventRelayConfig":
        metadata = {**metadata, "state": "STOP"}  # a relay always starts stopped
    record_id = sandbox.minter.mint(KEY_PREFIXES[obj])
    table[record_id] = {"Id": record_id, **_flatten(full_name, metadata)}
    if obj == "EventRelayConfig":
        sandbox.relay_created(table[record_id])
    return sf_json(201, {"id": record_id, "success": True, "errors": [], "warnings": [], "infos": []})


def _check(sandbox: SalesforceSandbox, obj: str, metadata: dict[str, Any]) -> None:
    if obj == "PlatformEventChannelMember":
        channel = _find(sandbox, "PlatformEventChannel", str(metadata.get("eventChannel")))
        entity = str(metadata.get("selectedEntity", ""))
        if channel is None:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "eventChannel: no such channel", ["eventChannel"])
        # One channel holds change events or platform events, never both.
        if (channel.get("ChannelType") == "data") != entity.endswith("ChangeEvent"):
            raise SfError("FIELD_INTEGRITY_EXCEPTION", f"selectedEntity: {entity} does not fit a "
                          f"{channel.get('ChannelType')} channel", ["selectedEntity"])
    if obj == "EventRelayConfig":
        if _find(sandbox, "PlatformEventChannel", str(metadata.get("eventChannel"))) is None:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "eventChannel: no such channel", ["eventChannel"])
        credential = str(metadata.get("destinationResourceName", "")).removeprefix("callout:")
        if _find(sandbox, "NamedCredential", credential) is None:
            raise SfError("FIELD_INTEGRITY_EXCEPTION", "destinationResourceName: no such named credential",
                          ["destinationResourceName"])


def read(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj = request.params["obj"]
    record = _table(sandbox, obj).get(request.params["id"])
    if record is None:
        raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
    return sf_json(200, with_attributes(request.params["version"], obj, record))


def update(sandbox: SalesforceSandbox, request: Request) -> Response:
    obj = request.params["obj"]
    record = _table(sandbox, obj).get(request.params["id"])
    if record is None:
        raise SfError("NOT_FOUND", "The requested resource does not exist", status=404)
    metadata = json_body(request).get("Metadata")
    if not isinstance(metadata, dict):
        raise SfError("REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", ["Metadata"])
    merged = {**record["Metadata"], **metadata}
    _check(sandbox, obj, merged)
    record.update(_flatten(record["FullName"], merged))
    if obj == "EventRelayConfig":
        sandbox.relay_changed(record)
    return Response(204)


def tooling_query(sandbox: SalesforceSandbox, request: Request) -> Response:
    query = parse(request.arg("q") or "")
    if query.obj not in OBJECTS:
        raise SfError("INVALID_TYPE", f"sObject type '{query.obj}' is not supported.")
    records = list(_table(sandbox, query.obj).values())
    found = run.order([r for r in records if run.matches(r, query.where, lambda r, p: r.get(p))], query,
                      lambda r, p: r.get(p))[:query.limit]
    rows = [with_attributes(request.params["version"], query.obj, r, query.fields) for r in found]
    return page(sandbox, request, rows, 0, sandbox.page_size, prefix="tooling/")
