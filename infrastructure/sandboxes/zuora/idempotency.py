"""Zuora's idempotent requests (developer.zuora.com/docs/guides/idempotent-requests; VENDORS §0 #9).

A key (fewer than 255 characters) on a POST or PATCH stores the first answer, status, headers and
body, success or failure, for 24 hours and replays it. A second request while the first still runs
gets 409; the key on another URL or method gets 422 ("a mismatch of tenant IDs, URLs or HTTP
methods"). The body is not compared: the docs name no body mismatch, so the stored answer is replayed.
"""

from __future__ import annotations

from collections.abc import Callable

from infrastructure.sandboxes.base import IdempotencyCache, Request, Response
from infrastructure.sandboxes.zuora.errors import answer, failure_body

KEY_LIMIT = 255


def idempotent(cache: IdempotencyCache, request: Request, key: str, run: Callable[[], Response]) -> Response:
    if len(key) >= KEY_LIMIT:
        return answer(400, failure_body(50000020, f"idempotency-key must be shorter than {KEY_LIMIT} characters"))
    state, stored = cache.begin(key, f"{request.method} {request.path}")
    if state == "replay" and stored is not None:
        return stored
    if state == "in_progress":
        return answer(409, failure_body(50000050, "A request with this idempotency-key is still in progress"))
    if state == "mismatch":
        return answer(422, failure_body(50000020, "This idempotency-key was used with another URL or method"))
    response: Response | None = None
    try:
        response = run()
    finally:
        cache.finish(key, response)  # None (the handler crashed) forgets the key: nothing was stored
    return response
