"""Reading one SSM parameter: through the Parameters and Secrets Lambda Extension, or directly with boto3.

The extension listens on `localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` and answers
`GET /systemsmanager/parameters/get?name=<name>&withDecryption=true` with GetParameter's own JSON, given
the header `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`. It caches for SSM_PARAMETER_STORE_TTL
(at most 300 s) and cannot be called during INIT, so any failure to reach it (no port, connection
refused, a non-200) falls back to a direct read, which is also the authoritative one after a 401.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import httpx

from adapters.aws.lease import AwsFailure, aws_error, error_code

logger = logging.getLogger("concord.tokens")

EXTENSION_PATH = "/systemsmanager/parameters/get"
EXTENSION_TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class ParameterReader:
    """`cached(name)` may be up to the extension's TTL old; `direct(name)` is SSM's current value."""

    def __init__(self, ssm_client: Any, *, extension_port: int | None = None,
                 http: httpx.Client | None = None, timeout_s: float = 2.0) -> None:
        self._ssm = ssm_client
        self._port = extension_port
        self._http = http if http is not None or extension_port is None else httpx.Client(timeout=timeout_s)

    def cached(self, name: str) -> str | None:
        """The value (None if no such parameter), through the extension where it answers."""
        if self._port is not None and self._http is not None:
            found, value = self._via_extension(name)
            if found:
                return value
        return self.direct(name)

    def direct(self, name: str) -> str | None:
        try:
            response = self._ssm.get_parameter(Name=name, WithDecryption=True)
        except AwsFailure as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise aws_error(exc, system="ssm", action=f"GetParameter {name}") from exc
        return str(response["Parameter"]["Value"])

    def _via_extension(self, name: str) -> tuple[bool, str | None]:
        """(True, value) when the extension answered with the parameter; (False, None) to fall back."""
        assert self._http is not None
        url = f"http://localhost:{self._port}{EXTENSION_PATH}"
        headers = {EXTENSION_TOKEN_HEADER: os.environ.get("AWS_SESSION_TOKEN", "")}
        try:
            response = self._http.get(url, params={"name": name, "withDecryption": "true"}, headers=headers)
        except httpx.TransportError as exc:
            # Absent (local run) or not ready yet (INIT): boto3 reads the same parameter.
            logger.debug("parameters extension unreachable, reading SSM directly",
                         extra={"error": type(exc).__name__})
            return False, None
        if response.status_code != 200:
            logger.debug("parameters extension answered %s, reading SSM directly", response.status_code)
            return False, None
        try:
            return True, str(response.json()["Parameter"]["Value"])
        except (ValueError, KeyError, TypeError):
            return False, None
