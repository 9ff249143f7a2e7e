"""Inside one local execution environment (a worker process): what Lambda's Python runtime does.

The process is started with the function's own environment (template Environment + Lambda's
reserved variables) and nothing of its parent's, imports the handler once (INIT), then serves
invocations one at a time over its stdin/stdout pipes. Module globals (the DI container, boto3
clients, settings caches) therefore live exactly as long as a warm Lambda instance, and two functions
never share them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object that handlers use."""

    def __init__(self, request_id: str, deadline_s: float, environment: dict[str, str]) -> None:
        self.aws_request_id = request_id
        self.function_name = environment.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = int(environment.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"))
        region, account = environment.get("AWS_REGION", ""), environment.get("CONCORD_LOCAL_ACCOUNT", "")
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/[$LATEST]{os.getpid()}"
        self._deadline_s = deadline_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline_s - time.time()) * 1000))


def _protocol_streams(log_path: str) -> tuple[Any, Any]:
    """Keep the pipes to the runtime on private descriptors; stdout/stderr go to the function's log file,
    as Lambda sends them to CloudWatch Logs."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return requests, replies


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    return {
        "errorType": error_type or type(exc).__name__,
        "errorMessage": str(exc),
        "stackTrace": traceback.format_exception(exc),
    }


def _load(handler: str) -> Any:
    module, _, attribute = handler.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def serve(handler: str, log_path: str) -> None:
    """Run by `python -m infrastructure.local.worker HANDLER LOG`, started with the function's environment.
    One JSON line in ({"id", "event", "deadline"}) -> one JSON line out ({"outcome", "payload"})."""
    requests, replies = _protocol_streams(log_path)
    try:
        function, init_error = _load(handler), None
    except Exception as exc:  # Lambda reports an INIT failure on every invocation (Runtime.ImportModuleError)
        function, init_error = None, _error(exc, "Runtime.ImportModuleError")
        traceback.print_exc()
    for line in requests:
        message = json.loads(line)
        request_id = message["id"]
        print(f"START RequestId: {request_id} Version: $LATEST", flush=True)
        started = time.monotonic()
        context = LambdaContext(request_id, message["deadline"], dict(os.environ))
        outcome, payload = _invoke(function, init_error, message["event"], context)
        replies.write(json.dumps({"outcome": outcome, "payload": payload}) + "\n")
        replies.flush()
        duration_ms = (time.monotonic() - started) * 1000
        print(
            f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms",
            flush=True,
        )


def _invoke(
    function: Any, init_error: dict[str, Any] | None, event: Any, context: LambdaContext
) -> tuple[str, Any]:
    if init_error is not None:
        return "error", init_error
    try:
        result = function(event, context)
    except Exception as exc:
        traceback.print_exc()
        return "error", _error(exc)
    try:
        # Lambda returns the JSON serialisation of the result; anything else is its marshal error.
        return "ok", json.loads(json.dumps(result))
    except (TypeError, ValueError) as exc:
        return "error", _error(exc, "Runtime.MarshalError")


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
