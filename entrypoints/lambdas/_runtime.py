"""What every Lambda entrypoint shares: the container built once per cold start, the SQS batch loop.

Nothing is built at import time: the first invocation builds the container (clients included),
later invocations of the same instance reuse it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

_container: Any = None


def container() -> Any:
    global _container
    if _container is None:
        from adapters.logging import configure_logging
        from infrastructure.container import Container

        _container = Container()
        configure_logging(_container.settings().log_level)
    return _container


def reset_container() -> None:
    """Tests and the local runtime: forget the built clients (a fresh 'cold start')."""
    global _container
    _container = None


def sqs_batch(event: Mapping[str, Any], to_commands: Callable[[Any, Any], Iterable[object]]) -> dict[str, Any]:
    """Parse each record, build its command(s), dispatch; the consumer maps errors to retry or DLQ."""
    from adapters.aws.sqs_batch import process_batch
    from application.handlers import handle

    built = container()
    services = built.services()

    def handle_record(record: Any) -> None:
        for command in to_commands(record, services):
            handle(command, services)

    # The DLQ and alert clients are built on the first failure only: a healthy batch never needs them.
    return process_batch(event, handle_record, dlq=_Lazy(built.dead_letters), alerts=_Lazy(built.publisher),
                         max_receives=built.settings().max_receives)


class _Lazy:
    """Stands for an adapter and builds it on first use (`send`, `publish`, ...)."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)
