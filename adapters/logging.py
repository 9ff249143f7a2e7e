"""Structured JSON logs with a correlation id and a redaction filter (DESIGN §2, §5: no secret in logs).

One JSON object per line: timestamp, level, message, logger, correlation_id (from a contextvar set per
flow) and any `extra={...}` fields. CloudWatch Logs metric filters match these fields directly, e.g. the
dead-letter alarm of adapters/aws/sqs_batch: `{ ($.level = "ERROR") && ($.alert = "dead_letter") }`.

Redaction is defence in depth: the code must not log secrets in the first place (tests prove it on
captured records), and this filter scrubs whatever slips through: values under secret-looking keys,
Bearer/Basic credentials, JWT-shaped strings, Stripe keys, Salesforce session ids, `key=value` pairs
with a secret-looking key, and any value registered with `register_secret` (tokens the process holds).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any

REDACTED = "[REDACTED]"

correlation_id_var: ContextVar[str] = ContextVar("concord_correlation_id", default="")

_SECRET_KEY = re.compile(
    r"(token|secret|passw|authorization|api[_-]?key|credential|private[_-]?key|assertion|signature|cookie"
    r"|session[_-]?id)",
    re.IGNORECASE,
)
_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=!-]+", re.IGNORECASE), r"\1 " + REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),  # JWT
    (re.compile(r"\b[sr]k_(live|test)_[A-Za-z0-9]{8,}"), REDACTED),  # Stripe secret/restricted keys
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"), REDACTED),  # Salesforce session id
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),  # AWS access key id
    # key=value / "key": "value" with a secret-looking key, in free text and JSON alike.
    (re.compile(
        r"""(["']?[\w-]*(?:token|secret|passw\w*|api[_-]?key|authorization|credential\w*)["']?\s*[=:]\s*["']?)"""
        r"""([^\s"',&;}]+)""", re.IGNORECASE), r"\1" + REDACTED),
)
_MIN_REGISTERED_LEN = 8
_MAX_REGISTERED = 512
_registered: OrderedDict[str, None] = OrderedDict()
_registered_lock = threading.Lock()

# Attributes every LogRecord has: whatever else is on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def register_secret(value: str) -> None:
    """Scrub this exact value from every later log line (a token or key this process holds)."""
    if len(value) < _MIN_REGISTERED_LEN:
        return  # too short to scrub without mangling ordinary words
    with _registered_lock:
        _registered[value] = None
        _registered.move_to_end(value)
        while len(_registered) > _MAX_REGISTERED:
            _registered.popitem(last=False)


def redact_text(text: str) -> str:
    with _registered_lock:
        known = list(_registered)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with secrets scrubbed; numbers and booleans under secret keys stay (ages, counts)."""
    if key and _SECRET_KEY.search(key) and not isinstance(value, bool | int | float | type(None)):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(v) for v in value]
    if isinstance(value, bool | int | float | type(None)):
        return value
    return redact_text(str(value))


class RedactingFilter(logging.Filter):
    """Scrubs the message and every extra field of a record, in place, before a handler emits it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-args: keep the template, never crash logging
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key in extra_fields(record):
            setattr(record, key, redact(getattr(record, key), key))
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def extra_fields(record: logging.LogRecord) -> list[str]:
    return [key for key in vars(record) if key not in _STANDARD_ATTRS and not key.startswith("_")]


class JsonFormatter(logging.Formatter):
    """One JSON object per line; redacts again at the end so a formatter used alone is still safe."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "correlation_id": getattr(record, "correlation_id", None) or correlation_id_var.get(),
        }
        for key in extra_fields(record):
            document.setdefault(key, getattr(record, key))
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(redact(document), default=str, ensure_ascii=False)


def configure_logging(level: str | int = "INFO", stream: IO[str] | None = None) -> logging.Handler:
    """Route the root logger through one JSON handler (replacing Lambda's default handler)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    return handler


@contextlib.contextmanager
def correlation(correlation_id: str) -> Iterator[None]:
    """Every log line inside carries this flow's correlation id."""
    token = correlation_id_var.set(correlation_id)
    try:
        yield
    finally:
        correlation_id_var.reset(token)
