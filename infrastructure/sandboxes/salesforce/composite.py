"""Composite (≤25 subrequests, `@{ref.field}` references, always HTTP 200 at the top: VENDORS §0 #4)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from infrastructure.sandboxes.base import Request, Response
from infrastructure.sandboxes.salesforce import sobject_collections
from infrastructure.sandboxes.salesforce.responses import sf_error, sf_json
from infrastructure.sandboxes.salesforce.schema import SfError

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

V = r"/services/data/v(?P<version>\d+\.\d)"
MAX_SUBREQUESTS = 25
HALTED = [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation "
           "in the same transaction failed."}]
_REF = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")


class Rollback(Exception):
    pass


def register(sandbox: SalesforceSandbox) -> None:
    def guarded(handler: Any) -> Any:
        def serve(request: Request) -> Response:
            try:
                return handler(sandbox, request)  # type: ignore[no-any-return]
            except SfError as error:
                return sf_error(error)
        return serve

    sobject_collections.register(sandbox, guarded)
    sandbox.route("POST", f"{V}/composite/?", guarded(composite))


def _resolve(value: Any, done: dict[str, Any]) -> Any:
    if isinstance(value, str):
        def swap(match: re.Match[str]) -> str:
            found: Any = done.get(match.group(1))
            for part in re.split(r"\.|\[(\d+)\]", match.group(2)):
                if part:
                    found = found[int(part)] if isinstance(found, list) else (found or {}).get(part)
            if found is None:
                raise KeyError(match.group(0))
            return str(found)
        return _REF.sub(swap, value)
    if isinstance(value, dict):
        return {k: _resolve(v, done) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, done) for v in value]
    return value


def _subrequest(sandbox: SalesforceSandbox, request: Request, sub: dict[str, Any], done: dict[str, Any]) -> Response:
    try:
        url = _resolve(sub.get("url", ""), done)
        body = _resolve(sub.get("body"), done)
    except (KeyError, IndexError, TypeError) as exc:
        return sf_json(400, [{"errorCode": "PROCESSING_HALTED", "message": f"Invalid reference specified. No value "
                              f"for {exc.args[0] if exc.args else 'reference'} found"}])
    parts = urlsplit(url)
    inner = Request(str(sub.get("method", "GET")).upper(), parts.path, parse_qs(parts.query), dict(request.headers),
                    json.dumps(body).encode() if body is not None else b"")
    return sandbox.dispatch(inner)


def composite(sandbox: SalesforceSandbox, request: Request) -> Response:
    body = request.json() if request.body else {}
    subs = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(subs, list) or not subs:
        raise SfError("JSON_PARSER_ERROR", "compositeRequest is required")
    if len(subs) > MAX_SUBREQUESTS:
        raise SfError("LIMIT_EXCEEDED", f"Limit Exceeded: too many subrequests ({len(subs)}), the limit is 25")
    if any(not isinstance(s, dict) or not re.fullmatch(r"[A-Za-z0-9_]+", str(s.get("referenceId", ""))) for s in subs):
        raise SfError("INVALID_INPUT", "referenceId must contain only letters, numbers and underscores")
    all_or_none = bool(body.get("allOrNone", False))
    results: list[dict[str, Any]] = []
    try:
        with sandbox.transaction(request, atomic=all_or_none):
            _run_all(sandbox, request, subs, all_or_none, results)
    except Rollback:
        results = _halted(results, subs)
    return sf_json(200, {"compositeResponse": results})


def _run_all(sandbox: SalesforceSandbox, request: Request, subs: list[dict[str, Any]], all_or_none: bool,
             results: list[dict[str, Any]]) -> None:
    """Run the subrequests in order into `results`; under allOrNone the first failure rolls back."""
    done: dict[str, Any] = {}
    for sub in subs:
        response = _subrequest(sandbox, request, sub, done)
        parsed = json.loads(response.body) if response.body else None
        results.append({"body": parsed, "httpHeaders": {k: v for k, v in response.headers.items() if k == "Location"},
                        "httpStatusCode": response.status, "referenceId": sub["referenceId"]})
        if response.status < 300:
            done[sub["referenceId"]] = parsed
        elif all_or_none:
            raise Rollback


def _halted(results: list[dict[str, Any]], subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After a rollback: the failed subrequest keeps its error, every other one reports PROCESSING_HALTED."""
    failed = len(results)
    halted = [r if i == failed - 1 else {**r, "body": HALTED, "httpHeaders": {}, "httpStatusCode": 400}
              for i, r in enumerate(results)]
    return halted + [{"body": HALTED, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": s["referenceId"]}
                     for s in subs[failed:]]
