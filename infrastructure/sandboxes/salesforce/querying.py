"""`GET /query?q=` and `GET /query/<locator>-<offset>`: SOQL with `nextRecordsUrl` pagination.

A query's full result is fixed when it runs (as Salesforce's cursor is) and served in batches of the
page size; `Sforce-Query-Options: batchSize=N` (200..2000) asks for smaller batches.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce import query as run
from infrastructure.sandboxes.salesforce.responses import sf_error, sf_json, with_attributes
from infrastructure.sandboxes.salesforce.schema import SCHEMAS, SfError
from infrastructure.sandboxes.salesforce.soql import Query, parse

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

V = r"/services/data/v(?P<version>\d+\.\d)"
Record = dict[str, Any]


def register(sandbox: SalesforceSandbox) -> None:
    def guarded(handler: Any) -> Any:
        def serve(request: Request) -> Response:
            try:
                return handler(sandbox, request)  # type: ignore[no-any-return]
            except SfError as error:
                return sf_error(error)
        return serve

    sandbox.route("GET", f"{V}/query/?", guarded(first_page))
    sandbox.route("GET", f"{V}/query/(?P<locator>[A-Za-z0-9]+)-(?P<offset>\\d+)", guarded(next_page))


def _relationship(name: str) -> str:
    return name[:-3] + "__c" if name.endswith("__r") else name + "Id"


def check_paths(obj: str, schema: dict[str, Any], paths: list[str]) -> None:
    for path in paths:
        head, _, tail = path.partition(".")
        if tail:
            spec = schema.get(_relationship(head))
            if spec is None or spec.type != "reference" or tail not in SCHEMAS.get(spec.target, {}):
                raise SfError("INVALID_FIELD", f"Didn't understand relationship '{head}' in field path. "
                              f"No such column '{tail}' on entity '{obj}'.", [path])
        elif head not in schema:
            raise SfError("INVALID_FIELD", f"No such column '{head}' on entity '{obj}'. If you are attempting to "
                          "use a custom field, be sure to append the '__c' after the custom field name.", [head])


def execute(sandbox: SalesforceSandbox, query: Query, records: list[Record], version: str) -> list[Record]:
    """Filter, order, limit and project `records` (all of the queried object) for `query`."""

    def resolve(record: Record, path: str) -> Any:
        head, _, tail = path.partition(".")
        if not tail:
            return record.get(head)
        target_id = record.get(_relationship(head))
        target = SCHEMAS[query.obj][_relationship(head)].target
        return sandbox.org.get(target, target_id).get(tail) if target_id else None

    found = [r for r in records if run.matches(r, query.where, resolve)]
    found = run.order(found, query, resolve)[:query.limit]
    return [_project(sandbox, query, record, resolve, version) for record in found]


def _project(sandbox: SalesforceSandbox, query: Query, record: Record, resolve: Any, version: str) -> Record:
    row = with_attributes(version, query.obj, record, [])
    for path in query.fields:
        head, _, tail = path.partition(".")
        if not tail:
            row[head] = record.get(head)
            continue
        target_id = record.get(_relationship(head))
        if not target_id:
            row[head] = None
            continue
        target = SCHEMAS[query.obj][_relationship(head)].target
        nested = row.get(head) or with_attributes(version, target, {"Id": target_id}, [])
        nested[tail] = resolve(record, path)
        row[head] = nested
    return row


def first_page(sandbox: SalesforceSandbox, request: Request) -> Response:
    text = request.arg("q")
    if not text:
        raise SfError("MALFORMED_QUERY", "A query string has to be specified")
    query = parse(text)
    if query.obj not in SCHEMAS:
        raise SfError("INVALID_TYPE", f"sObject type '{query.obj}' is not supported. If you are attempting to use "
                      "a custom object, be sure to append the '__c' after the entity name.")
    check_paths(query.obj, SCHEMAS[query.obj], run.paths_used(query))
    with sandbox.lock:
        rows = execute(sandbox, query, list(sandbox.org.records[query.obj].values()), request.params["version"])
    if query.count:  # Salesforce answers COUNT() with the number in totalSize and no records
        return sf_json(200, {"totalSize": len(rows), "done": True, "records": []})
    return page(sandbox, request, rows, 0, _batch_size(sandbox, request))


def next_page(sandbox: SalesforceSandbox, request: Request) -> Response:
    cursor = sandbox.cursors.get(request.params["locator"])
    if cursor is None:
        raise SfError("INVALID_QUERY_LOCATOR", "invalid query locator")
    rows, size = cursor
    return page(sandbox, request, rows, int(request.params["offset"]), size)


def page(sandbox: SalesforceSandbox, request: Request, rows: list[Record], offset: int, size: int,
         prefix: str = "") -> Response:
    batch = rows[offset:offset + size]
    body: dict[str, Any] = {"totalSize": len(rows), "done": offset + size >= len(rows), "records": batch}
    if not body["done"]:
        locator = request.params.get("locator") or sandbox.minter.mint("01g")
        sandbox.cursors[locator] = (rows, size)
        version = request.params["version"]
        body["nextRecordsUrl"] = f"/services/data/v{version}/{prefix}query/{locator}-{offset + size}"
    return sf_json(200, body)


def _batch_size(sandbox: SalesforceSandbox, request: Request) -> int:
    match = re.search(r"batchSize=(\d+)", request.headers.get("sforce-query-options", ""))
    if match is None:
        return sandbox.page_size
    return max(200, min(2000, int(match.group(1)), sandbox.page_size)) if sandbox.page_size >= 200 \
        else sandbox.page_size
