"""Edges of the AWS adapters with fakes: botocore error classification, whole-call throttling of PutEvents,
and the on-demand refresh invocation of the access manager."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from adapters.aws.eventbridge import EventBridgePublisher
from adapters.aws.lease import aws_error
from adapters.aws.token_store import InvokeAccessManager
from adapters.outbound import RetryPolicy
from application.errors import CredentialsRevoked, PermanentError, RetryableError


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (client_error("ThrottlingException"), RetryableError),
        (client_error("ProvisionedThroughputExceededException"), RetryableError),
        (client_error("InternalServerError", 500), RetryableError),
        (client_error("SomethingNew", 503), RetryableError),
        (EndpointConnectionError(endpoint_url="http://localhost:1"), RetryableError),
        (client_error("AccessDeniedException", 403), PermanentError),
        (client_error("ValidationException"), PermanentError),
    ],
)
def test_botocore_failures_are_classified_into_application_errors(exc: Exception, kind: type) -> None:
    error = aws_error(exc, system="ssm", action="GetParameter")
    assert type(error) is kind and error.system == "ssm"


class ThrottledOnce:
    def __init__(self) -> None:
        self.calls = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls == 1:
            raise client_error("ThrottlingException")
        return {"FailedEntryCount": 0, "Entries": [{"EventId": str(i)} for i, _ in enumerate(Entries)]}


def envelope() -> dict[str, Any]:
    return {
        "metadata": {"source": "concord.domain", "eventName": "Order.Activated", "eventId": "e-1"},
        "data": {},
    }


def test_a_throttled_putevents_call_is_retried_whole() -> None:
    client = ThrottledOnce()
    EventBridgePublisher(client, "bus", sleep=lambda _: None).publish([envelope()])
    assert client.calls == 2


def test_an_answer_shorter_than_the_request_is_never_taken_as_success() -> None:
    class Short:
        def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
            return {"FailedEntryCount": 0, "Entries": []}

    with pytest.raises(RetryableError):
        EventBridgePublisher(Short(), "bus", retry=RetryPolicy(max_attempts=2), sleep=lambda _: None).publish(
            [envelope()]
        )


class FakeLambda:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer, self.invocations = answer, []

    def invoke(self, **kwargs: Any) -> dict[str, Any]:
        self.invocations.append(kwargs)
        return {"StatusCode": 200, **self.answer}


def payload(document: dict[str, Any]) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


def test_the_on_demand_refresh_invokes_the_access_manager_synchronously() -> None:
    client = FakeLambda({"Payload": payload({"refreshed": ["zuora"], "revoked": {}, "failed": {}})})
    InvokeAccessManager(client, "concord-access-manager")("zuora")
    (call,) = client.invocations
    assert call["FunctionName"] == "concord-access-manager" and call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"]) == {"system": "zuora", "reason": "401"}


@pytest.mark.parametrize(
    ("answer", "kind"),
    [
        ({"Payload": payload({"revoked": {"zuora": "invalid_client"}})}, CredentialsRevoked),
        ({"Payload": payload({"failed": {"zuora": "RetryableError [503]"}})}, RetryableError),
        ({"FunctionError": "Unhandled", "Payload": payload({"errorType": "KeyError"})}, RetryableError),
    ],
)
def test_the_on_demand_refresh_surfaces_what_the_access_manager_reported(
    answer: dict[str, Any], kind: type
) -> None:
    with pytest.raises(kind):
        InvokeAccessManager(FakeLambda(answer), "am")("zuora")
