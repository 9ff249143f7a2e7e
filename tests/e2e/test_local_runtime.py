"""The local runtime's Lambda semantics, over moto in server mode and real HTTP/WebSocket.

Each test drives one piece of infrastructure/local the way AWS would be driven (boto3, raw HTTP,
a WebSocket client), with handlers from local_runtime_handlers.py running in worker processes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from infrastructure.local.environment import LocalAws
from infrastructure.local.extension import TOKEN_HEADER, ExtensionServer
from infrastructure.local.functions import FunctionError, LocalFunction
from infrastructure.local.http_api import HttpApi
from infrastructure.local.lambda_api import LambdaApi
from infrastructure.local.moto_process import start_moto_process
from infrastructure.local.schedules import Schedule, rate_seconds
from infrastructure.local.sqs_source import SqsEventSource
from infrastructure.local.stream_source import StreamEventSource
from infrastructure.local.websocket_api import WebSocketApi

HANDLERS = "tests.e2e.local_runtime_handlers"


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    moto = start_moto_process()
    yield LocalAws(moto.url)
    moto.stop()


def client(aws: LocalAws, service: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name=aws.region,
                        aws_access_key_id=aws.access_key_id, aws_secret_access_key=aws.secret_access_key)


@pytest.fixture
def make_function(tmp_path: Path) -> Iterator[Callable[..., LocalFunction]]:
    made: list[LocalFunction] = []

    def make(handler: str, *, timeout_s: float = 10, **env: str) -> LocalFunction:
        environment = {"RECORD_PATH": str(tmp_path / f"{handler}.jsonl"), **env}
        function = LocalFunction(f"test-{handler}-{len(made)}", f"{HANDLERS}.{handler}", environment,
                                 timeout_s=timeout_s, log_dir=tmp_path)
        made.append(function)
        return function
    yield make
    for function in made:
        function.stop()


def recorded(function: LocalFunction) -> list[Any]:
    path = Path(function.environment["RECORD_PATH"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def eventually(probe: Callable[[], Any], timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s} s")


def queue_with_dlq(sqs: Any, name: str, *, max_receives: int) -> tuple[str, str, str]:
    dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(
        {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq


def depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_partial_batch_failure_returns_only_that_message(aws: LocalAws, make_function: Any) -> None:
    sqs = client(aws, "sqs")
    url, arn, _ = queue_with_dlq(sqs, "partial", max_receives=5)
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(["ok-1", "fail-2", "ok-3"])],
    )
    function = make_function("partial")
    source = SqsEventSource(sqs, function, queue_url=url, queue_arn=arn, region=aws.region, idle_s=0.2)
    source.start()
    try:
        batches = eventually(lambda: recorded(function) if len(recorded(function)) >= 2 else None)
    finally:
        source.stop()
    assert sorted(batches[0]) == ["fail-2", "ok-1", "ok-3"]
    assert batches[1] == ["fail-2"]  # after the visibility timeout, only the reported message came back
    assert depth(sqs, url) == 1


def test_a_message_failing_max_receive_count_times_lands_in_the_dlq(
    aws: LocalAws, make_function: Any
) -> None:
    """The queue's redrive policy does it: moto moves the message on the receive past maxReceiveCount,
    over HTTP, as SQS does. The runtime itself never deletes or moves a failed message."""
    sqs = client(aws, "sqs")
    url, arn, dlq = queue_with_dlq(sqs, "poison", max_receives=2)
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    function = make_function("always_fail")
    source = SqsEventSource(sqs, function, queue_url=url, queue_arn=arn, region=aws.region, idle_s=0.2)
    source.start()
    try:
        eventually(lambda: depth(sqs, dlq) == 1)
    finally:
        source.stop()
    assert recorded(function) == [["poison"], ["poison"]]
    assert depth(sqs, url) == 0
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["Body"] == "poison"


def test_a_stream_record_reported_failed_is_retried_from_it_then_sent_to_the_on_failure_destination(
    aws: LocalAws, make_function: Any
) -> None:
    dynamodb, streams = client(aws, "dynamodb"), client(aws, "dynamodbstreams")
    dynamodb.create_table(
        TableName="outbox",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    stream_arn = dynamodb.describe_table(TableName="outbox")["Table"]["LatestStreamArn"]
    for pk in ("a", "bad", "c"):
        dynamodb.put_item(TableName="outbox", Item={"pk": {"S": pk}, "blob": {"B": b"\x00\x01"}})
    function, failures = make_function("stream_partial"), []
    source = StreamEventSource(
        streams,
        function,
        stream_arn=stream_arn,
        region=aws.region,
        max_retries=2,
        on_failure=failures.append,
        idle_s=0.1,
    )
    source.start()
    try:
        eventually(lambda: failures)
        eventually(lambda: source.delivered == 2)
    finally:
        source.stop()
    # 1 invocation + MaximumRetryAttempts (2) that hold "bad", halved by the bisection; then "c" alone.
    assert recorded(function) == [["a", "bad", "c"], ["bad", "c"], ["bad"], ["c"]]
    info = failures[0]["DDBStreamBatchInfo"]
    assert (info["batchSize"], info["streamArn"], failures[0]["requestContext"]["condition"]) == (
        1,
        stream_arn,
        "RetryAttemptsExhausted",
    )


def test_each_function_runs_with_its_own_environment_and_limits(make_function: Any) -> None:
    blue, green = make_function("echo", MARKER="blue"), make_function("echo", MARKER="green")
    assert json.loads(blue.invoke({})["body"])["marker"] == "blue"
    assert json.loads(green.invoke({})["body"])["marker"] == "green"
    sleepy = make_function("sleepy", timeout_s=1)
    sleepy.invoke({"seconds": 0})  # warm: the INIT allowance is spent, the 1 s timeout alone applies
    started = time.monotonic()
    with pytest.raises(FunctionError) as timed_out:
        sleepy.invoke({"seconds": 30})
    assert time.monotonic() - started < 5
    assert timed_out.value.error_type == "Sandbox.Timedout"
    with pytest.raises(FunctionError) as missing:
        LocalFunction(
            "nope", "tests.e2e.no_such_module.handler", {}, timeout_s=5, log_dir=Path(blue.log_path).parent
        ).invoke({})
    assert missing.value.error_type == "Runtime.ImportModuleError"


def test_the_extension_answers_with_the_session_token_and_caches_for_its_ttl(aws: LocalAws) -> None:
    ssm, kms = client(aws, "ssm"), client(aws, "kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    ssm.put_parameter(Name="/concord/test/tokens/zuora", Value="first", Type="SecureString", KeyId=key)
    now = [1000.0]
    extension = ExtensionServer(
        ssm, client(aws, "secretsmanager"), "session-token", ttl_s=300, clock=lambda: now[0]
    )
    url = extension.start() + "/systemsmanager/parameters/get"
    query = {"name": "/concord/test/tokens/zuora", "withDecryption": "true"}
    try:
        assert httpx.get(url, params=query).status_code == 401
        read = lambda: httpx.get(url, params=query, headers={TOKEN_HEADER: "session-token"})  # noqa: E731
        first = read()
        assert first.status_code == 200
        assert first.json()["Parameter"]["Value"] == "first"
        ssm.put_parameter(
            Name="/concord/test/tokens/zuora", Value="second", Type="SecureString", KeyId=key, Overwrite=True
        )
        assert read().json()["Parameter"]["Value"] == "first"  # cached
        now[0] += 301
        assert read().json()["Parameter"]["Value"] == "second"
        missing = httpx.get(url, params={"name": "/nope"}, headers={TOKEN_HEADER: "session-token"})
        assert missing.status_code == 400 and b"ParameterNotFound" in missing.content
    finally:
        extension.stop()


def test_the_connections_api_answers_410_for_a_closed_socket(make_function: Any) -> None:
    api = WebSocketApi(make_function("connect"), None, stage="dev")
    api.start()
    management = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=api.management.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    try:
        with connect(f"{api.url}/?token=good", open_timeout=30) as socket:
            connection_id = eventually(lambda: next(iter(api.sockets), None))
            management.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": 1}')
            assert json.loads(socket.recv(timeout=10)) == {"hello": 1}
        eventually(lambda: not api.sockets)
        with pytest.raises(ClientError) as gone:
            management.post_to_connection(ConnectionId=connection_id, Data=b"late")
        assert gone.value.response["Error"]["Code"] == "GoneException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
        with pytest.raises(Exception) as refused:
            connect(f"{api.url}/?token=bad", open_timeout=30)
        assert "401" in str(refused.value)
    finally:
        api.stop()


def test_the_http_api_sends_payload_v2_events_and_answers_404_off_its_routes(make_function: Any) -> None:
    api = HttpApi({("POST", "/events"): make_function("echo", MARKER="gw")})
    api.start()
    try:
        answer = httpx.post(
            f"{api.url}/events?x=1",
            content=b'{"a": 1}',
            headers={"Content-Type": "application/json", "X-Api-Key": "k"},
        )
        assert (answer.status_code, answer.headers["x-marker"]) == (201, "gw")
        event = answer.json()["event"]
        assert (event["version"], event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
            "2.0",
            "POST /events",
            "/events",
            "x=1",
        )
        assert event["headers"]["x-api-key"] == "k" and event["body"] == '{"a": 1}'
        assert event["isBase64Encoded"] is False
        assert httpx.get(f"{api.url}/events").json() == {"message": "Not Found"}
    finally:
        api.stop()


def test_the_invoke_api_runs_a_function_by_name(make_function: Any) -> None:
    function = make_function("echo", MARKER="invoked")
    api = LambdaApi(lambda: {"Echo": function})
    lam = boto3.client(
        "lambda",
        endpoint_url=api.start(),
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    try:
        answer = lam.invoke(FunctionName=function.name, Payload=b'{"system": "zuora"}')
        assert json.loads(json.loads(answer["Payload"].read())["body"])["marker"] == "invoked"
        with pytest.raises(lam.exceptions.ResourceNotFoundException):
            lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    finally:
        api.stop()


def test_moto_fires_no_schedule_so_the_runtime_plays_rate_expressions(make_function: Any) -> None:
    assert rate_seconds("rate(15 minutes)") == 900 and rate_seconds("rate(1 day)") == 86400
    assert rate_seconds("cron(0 12 * * ? *)") is None
    function = make_function("echo")
    schedule = Schedule(
        "access-manager",
        "rate(15 minutes)",
        {"reason": "schedule"},
        lambda payload: function.invoke_async(payload),
        speedup=900 / 0.3,
    )
    schedule.start()
    try:
        eventually(lambda: len(recorded(function)) >= 2)
    finally:
        schedule.stop()
    assert recorded(function)[0] == {"reason": "schedule"}


def test_no_rule_target_needs_an_input_transformation_that_moto_would_skip() -> None:
    """moto delivers a rule's matched event to its SQS target but applies no Input, InputPath or
    InputTransformer. The template uses none, so the local bus delivers what AWS would; a target that
    adds one must be played by the runtime first (this test then fails)."""
    from infrastructure.provision import load_template

    resources = load_template()["Resources"]
    targets = [target for resource in resources.values() if resource["Type"] == "AWS::Events::Rule"
               for target in resource["Properties"].get("Targets", [])]
    assert targets
    assert not [t["Id"] for t in targets if {"Input", "InputPath", "InputTransformer"} & set(t)]


def test_maximum_concurrency_bounds_the_batches_in_flight(aws: LocalAws, make_function: Any) -> None:
    sqs = client(aws, "sqs")
    url, arn, _ = queue_with_dlq(sqs, "busy", max_receives=5)
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(6)])
    function = make_function("timed")
    source = SqsEventSource(sqs, function, queue_url=url, queue_arn=arn, region=aws.region, batch_size=1,
                            maximum_concurrency=2, idle_s=0.2)
    source.start()
    try:
        spans = eventually(lambda: recorded(function) if len(recorded(function)) == 6 else None, timeout_s=60)
    finally:
        source.stop()
    in_flight = [sum(1 for s, e in spans if s <= t < e) for t, _ in spans]
    assert max(in_flight) == 2  # two batches at a time, never three
