"""A 5xx is retried after the backoff, not after the rate window's reset (found by the local-stack chaos run).

Zuora sends RateLimit-Reset (seconds until its rate window resets, up to 60) on EVERY answer. Read as
a retry hint on an injected 500, it made a worker sleep up to a minute, past the Lambda timeout, so
the whole SQS batch timed out and came back again and again.
"""

from __future__ import annotations

import httpx

from adapters.billing.zuora import ZuoraClient
from adapters.outbound import RetryPolicy, StaticTokens, classify_status

WINDOW = {"RateLimit-Limit": "50000", "RateLimit-Remaining": "49000", "RateLimit-Reset": "57"}


def test_a_5xx_with_the_rate_window_headers_waits_the_backoff_not_the_window() -> None:
    replies = [httpx.Response(500, headers=WINDOW, json={"success": False}),
               httpx.Response(200, headers=WINDOW, json={"success": True, "id": "x"})]
    sleeps: list[float] = []
    client = ZuoraClient("https://rest.test.zuora.com", tokens=StaticTokens({"zuora": "t"}),
                         client=httpx.Client(transport=httpx.MockTransport(lambda _: replies.pop(0))),
                         retry=RetryPolicy(max_attempts=3, base_delay_s=0.2, max_delay_s=20.0), sleep=sleeps.append)
    client.request("POST", "/v1/accounts", json={}, idempotency_key="k")
    assert len(sleeps) == 1 and sleeps[0] <= 0.2


def test_the_hints_each_status_reads() -> None:
    assert classify_status("zuora", httpx.Response(500, headers=WINDOW)).retry_after is None
    assert classify_status("zuora", httpx.Response(503, headers={**WINDOW, "Retry-After": "3"})).retry_after == 3.0
    assert classify_status("zuora", httpx.Response(429, headers=WINDOW)).retry_after == 57.0
