"""WebSocket notifications: $connect (JWT checked), $disconnect, and the fan-out consumer (SQS)."""

from __future__ import annotations

import json
from typing import Any

from entrypoints.lambdas._runtime import container

_store: Any = None
_notifier: Any = None


def _connections() -> Any:
    global _store
    if _store is None:
        import boto3

        from adapters.aws.websocket import ConnectionStore

        _store = ConnectionStore(boto3.resource("dynamodb").Table(container().settings().connections_table))
    return _store


def _jwt_secrets() -> list[str]:
    settings = container().settings()
    from infrastructure.wiring import aws_client

    value = aws_client("secretsmanager").get_secret_value(SecretId=f"concord/{settings.stage}/websocket-jwt")
    return [value["SecretString"]]


def connect(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from adapters.ws_tokens import TokenRefused, verify

    token = (event.get("queryStringParameters") or {}).get("token", "")
    try:
        claims = verify(token, _jwt_secrets())
    except TokenRefused as exc:
        return {"statusCode": 401, "body": exc.message}
    _connections().put(event["requestContext"]["connectionId"], claims["room"], subject=claims["sub"])
    return {"statusCode": 200}


def disconnect(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    _connections().delete(event["requestContext"]["connectionId"])
    return {"statusCode": 200}


def rooms_of(record: Any) -> list[str]:
    """Every notification goes to room "all"; domain events also to their aggregate's room."""
    rooms = ["all"]
    if record.source == "concord.domain":
        rooms.append(record.detail_type.split(".", 1)[0].lower() + "s")
    elif record.source == "concord.ops":
        rooms.append("ops")
    return rooms


def _notify() -> Any:
    global _notifier
    if _notifier is None:
        from adapters.aws.websocket import ApiGatewayNotifier
        from infrastructure.wiring import aws_client

        url = container().settings().websocket_management_url

        def factory() -> Any:
            import boto3

            return boto3.client("apigatewaymanagementapi", endpoint_url=url)

        _notifier = ApiGatewayNotifier(factory if url else (lambda: aws_client("apigatewaymanagementapi")),
                                       _connections())
    return _notifier


def fanout(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    from adapters.aws.sqs_batch import process_batch

    built = container()

    def handle_record(record: Any) -> None:
        message = {"source": record.source, "event": record.detail_type, "correlationId": record.correlation_id,
                   "data": json.loads(json.dumps(record.detail.get("data", record.detail), default=str))}
        for room in rooms_of(record):
            _notify().notify(room, message)

    return process_batch(event, handle_record, dlq=built.dead_letters(), alerts=None,
                         max_receives=built.settings().max_receives)
