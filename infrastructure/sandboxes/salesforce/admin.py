"""Sandbox-only admin endpoints (never part of Salesforce's API), beside the base ones:

    POST /__sandbox/gap        {"entity":"Account","recordIds":["001..."],"changeType":"GAP_UPDATE"}
    POST /__sandbox/overflow   {"entity":"Account"}    a GAP_OVERFLOW with a wildcard record id
    GET  /__sandbox/events     the envelopes emitted so far (newest last), after the queue drained
    POST /__sandbox/api-usage  {"used": 99990}         preload the rolling 24 h quota
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from infrastructure.sandboxes.base import Request, Response, json_response
from infrastructure.sandboxes.salesforce.ids import KEY_PREFIXES

if TYPE_CHECKING:
    from infrastructure.sandboxes.salesforce.server import SalesforceSandbox

GAP_TYPES = ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE")


def register_admin(sandbox: SalesforceSandbox) -> None:
    def gap(request: Request) -> Response:
        body = request.json() or {}
        change_type = body.get("changeType", "GAP_UPDATE")
        if change_type not in GAP_TYPES or not body.get("entity") or not body.get("recordIds"):
            return json_response(400, {"error": f"entity, recordIds and changeType in {GAP_TYPES} are needed"})
        sandbox.emit_header_only(body["entity"], list(body["recordIds"]), change_type)
        return json_response(200, {"emitted": change_type})

    def overflow(request: Request) -> Response:
        entity = (request.json() or {}).get("entity", "Account")
        # Overflow events name the key prefix with a wildcard: every record of the type may have changed.
        sandbox.emit_header_only(entity, [f"{KEY_PREFIXES.get(entity, '000')}*"], "GAP_OVERFLOW")
        return json_response(200, {"emitted": "GAP_OVERFLOW"})

    def events(request: Request) -> Response:
        sandbox.emitter.flush()
        return json_response(200, {"events": list(sandbox.emitter.recent), "stats": sandbox.emitter.stats,
                                   "source": sandbox.emitter.source})

    def usage(request: Request) -> Response:
        used = int((request.json() or {}).get("used", 0))
        with sandbox.lock:
            sandbox.calls.clear()
            sandbox.calls.extend([sandbox.clock.now()] * used)
        return json_response(200, {"used": used, "limit": sandbox.daily_limit})

    sandbox.route("POST", "/__sandbox/gap", gap)
    sandbox.route("POST", "/__sandbox/overflow", overflow)
    sandbox.route("GET", "/__sandbox/events", events)
    sandbox.route("POST", "/__sandbox/api-usage", usage)
