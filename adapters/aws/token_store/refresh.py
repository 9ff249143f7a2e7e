"""The production `request_refresh` of SsmTokenProvider: invoke the access manager for one system, and wait.

The invocation is synchronous (RequestResponse): the lease holder learns when the new token is written,
and a revoked credential surfaces to the caller instead of a silent timeout. The access manager's
handler answers with its RefreshReport as JSON (`{"refreshed": [...], "revoked": {...}, "failed": {...}}`).
"""

from __future__ import annotations

import json
from typing import Any

from adapters.aws.lease import AwsFailure, aws_error
from application.errors import CredentialsRevoked, RetryableError


class InvokeAccessManager:
    def __init__(self, lambda_client: Any, function_name: str) -> None:
        self._lambda = lambda_client
        self._function = function_name

    def __call__(self, system: str) -> None:
        payload = json.dumps({"system": system, "reason": "401"}).encode("utf-8")
        try:
            response = self._lambda.invoke(FunctionName=self._function, InvocationType="RequestResponse",
                                           Payload=payload)
        except AwsFailure as exc:
            raise aws_error(exc, system="lambda", action=f"Invoke {self._function}") from exc
        body = _json(response.get("Payload"))
        if response.get("FunctionError"):
            raise RetryableError(f"access manager failed: {body.get('errorType', 'error')}", system=system,
                                 code="ACCESS_MANAGER_ERROR")
        if system in (body.get("revoked") or {}):
            raise CredentialsRevoked(f"{system} credentials revoked: {body['revoked'][system]}",
                                     system=system, code="CREDENTIALS_REVOKED")
        if system in (body.get("failed") or {}):
            raise RetryableError(f"{system} token refresh failed: {body['failed'][system]}", system=system,
                                 code="REFRESH_FAILED")


def _json(stream: Any) -> dict[str, Any]:
    try:
        raw = stream.read() if hasattr(stream, "read") else (stream or b"{}")
        document = json.loads(raw or b"{}")
    except (ValueError, TypeError):
        return {}
    return document if isinstance(document, dict) else {}
