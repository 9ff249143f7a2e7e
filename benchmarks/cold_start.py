"""Cold start of every Lambda handler in infrastructure/template.yaml (issue 3), against a baseline.

    .venv/bin/python benchmarks/cold_start.py [rounds] [--venv]   # 3 timed rounds, then 1 importtime round

Every run is a fresh interpreter (subprocess) with exactly the function's environment (the template's,
resolved by infrastructure/provision, plus Lambda's reserved variables: infrastructure/local/environment):
it imports the handler module and serves ONE invocation that walks the handler's main path, against moto
in server mode (start_moto_server, infrastructure/local/moto_server.py), the vendor sandboxes and the
Parameters and Secrets extension stand-in. Wall time is the whole process, spawn to exit, so work
deferred past the import counts. The baseline, in the same run and the same environment: a fresh
interpreter that imports boto3, creates one SQS client and makes one call. Each round runs the baseline,
then every handler in the order data flows (Scenario). Printed: per handler the median wall time and
child CPU time, their ratios to the baseline's, the import/invoke split, and from a last round under
`python -X importtime` the top modules by cumulative import time and the self import time per package.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET = 1.5
# Hides what a function package built from infrastructure/requirements-lambda.txt would not contain
# (this venv also holds moto, werkzeug, rich, yaml...: optional imports of dependency_injector and httpx
# pick them up when present, which a deployed function never pays for).
PACKAGED = """
import sys
HIDDEN = frozenset(sys.argv[4].split(",")) if len(sys.argv) > 4 else frozenset()
class Hidden:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the function package)", name=name)
sys.meta_path.insert(0, Hidden)
"""
CHILD = PACKAGED + """
import importlib, json, sys, time
started = time.perf_counter()
module, _, attribute = sys.argv[1].rpartition(".")
function = getattr(importlib.import_module(module), attribute)
imported = time.perf_counter()
class Context:
    aws_request_id, function_name, memory_limit_in_mb = "bench", "bench", 512
    def get_remaining_time_in_millis(self): return 30000
with open(sys.argv[2]) as f: event = json.load(f)
result = function(event, Context())
done = time.perf_counter()
with open(sys.argv[3], "w") as f:
    json.dump({"import_s": imported - started, "invoke_s": done - imported, "result": result}, f, default=str)
"""
BASELINE = PACKAGED + """
import json, sys, time
started = time.perf_counter()
import boto3
client = boto3.client("sqs")
imported = time.perf_counter()
client.list_queues(MaxResults=1)
done = time.perf_counter()
with open(sys.argv[3], "w") as f:
    json.dump({"import_s": imported - started, "invoke_s": done - imported, "result": None}, f)
"""


class LambdaStack:
    """moto (server mode) with the template provisioned, the three vendor sandboxes, their secrets, the
    extension stand-in and the WebSocket management API: what a deployed function finds around it."""

    def __init__(self, vendor: str) -> None:
        from infrastructure.local.environment import LocalAws
        from infrastructure.local.extension import ExtensionServer
        from infrastructure.local.moto_server import start_moto_server
        from infrastructure.local.sandboxes import Sandboxes
        from infrastructure.local.websocket_api import WebSocketApi
        from infrastructure.provision import LOCAL_PARTNER_BUS, provision

        self.moto = start_moto_server()
        self.aws = LocalAws(self.moto.url)
        self.sandboxes = Sandboxes.start(self.aws, LOCAL_PARTNER_BUS)
        self.topology = provision(endpoint_url=self.moto.url, region=self.aws.region, parameters={
            "Stage": "dev", "BillingVendor": vendor, **self.sandboxes.template_parameters()})
        self.sandboxes.store_secrets(self.client("secretsmanager"), "dev", self.topology.kms_alias)
        self.session_token = "bench-session-token"  # also the extension's X-Aws-Parameters-Secrets-Token
        self.extension = ExtensionServer(self.client("ssm"), self.client("secretsmanager"),
                                         self.session_token)
        self.extension.start()
        self.websocket = WebSocketApi(None, None, stage=self.topology.stage)
        self.websocket.start()

    @classmethod
    def start(cls, vendor: str = "zuora") -> LambdaStack:
        return cls(vendor)

    def client(self, service: str) -> Any:
        import boto3

        session = boto3.session.Session(self.aws.access_key_id, self.aws.secret_access_key,
                                        region_name=self.aws.region)
        return session.client(service, endpoint_url=self.aws.endpoint_url)

    def environment(self, logical_id: str, **overrides: str) -> dict[str, str]:
        """The function's process environment, as the local runtime gives it (template + Lambda's own)."""
        from infrastructure.local.environment import function_environment

        local = {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(self.extension.port),
                 "CONCORD_WEBSOCKET_MANAGEMENT_URL": self.websocket.management.url, **overrides}
        return function_environment(self.topology.functions[logical_id], self.aws,
                                    session_token=self.session_token, local=local)

    def scenario(self) -> Scenario:
        return Scenario(self)

    def stop(self) -> None:
        for part in (self.websocket, self.extension, self.sandboxes, self.moto):
            try:
                part.stop()
            except Exception as exc:  # one part failing to stop must not keep the others running
                print(f"stopping {type(part).__name__}: {exc}", file=sys.stderr)


class Receiver:
    """The registered delivery destination: a local HTTP endpoint that accepts every POST."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/concord"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Scenario:
    """Per round, one fresh input per handler, built just before its run from what the previous
    handlers did: a CRM user's changes arrive on the service queues through Event Relay and the bus
    rules (moto routes them), the outbox relay reads the events table's stream, and its PutEvents
    fill the write-back, notification and delivery queues."""

    def __init__(self, stack: LambdaStack) -> None:
        from adapters.aws.gateway_tables import DestinationsTable, SourcesTable
        from application.delivery.admin import new_destination
        from application.gateway.admin import add_source
        from infrastructure.local.demo.crm import CrmUser

        self.stack, self.topology = stack, stack.topology
        self.sqs, self.dynamodb = stack.client("sqs"), stack.client("dynamodb")
        self.streams, self.ssm = stack.client("dynamodbstreams"), stack.client("ssm")
        credentials = stack.sandboxes.credentials["salesforce"]
        self.crm = CrmUser(stack.sandboxes.salesforce.url, credentials["client_id"],
                           credentials["client_secret"])
        tables = self.topology.tables
        _, self.source_key = add_source(SourcesTable(self.dynamodb, tables["SourcesTable"].name),
                                        name="bench-carrier", source="com.example.carrier",
                                        event_names=("IdsLinked",))
        self.receiver = Receiver()
        destination, _ = new_destination(name="bench-receiver", url=self.receiver.url,
                                         event_names=("Account.Synced",))
        DestinationsTable(self.dynamodb, tables["DestinationsTable"].name).add(destination)
        self.iterators: dict[str, str | None] = {}
        self.pending: list[dict[str, Any]] = []
        self.account = ""

    def round(self, number: int) -> Any:
        """(name, handler, environment, event) in the order data flows; each event built when asked for."""
        functions = self.topology.functions
        yield "baseline", "", self.stack.environment("AccountFunction"), {}
        for logical_id, make in (
            ("AccessManagerFunction", self.access_manager), ("AccountFunction", self.account_event),
            ("ProductFunction", self.product_event), ("OrderFunction", self.order_event),
            ("OutboxRelayFunction", self.outbox_event), ("CrmWritebackFunction", self.writeback_event),
            ("DeliveryFunction", self.delivery_event), ("GatewayFunction", self.gateway_event),
            ("CorrelationFunction", self.correlation_event),
            ("NotificationsConnectFunction", self.connect_event),
            ("NotificationsDisconnectFunction", self.disconnect_event),
            ("NotificationsFanoutFunction", self.fanout_event), ("ReconcileFunction", self.reconcile_event),
        ):
            spec = functions[logical_id]
            environment = self.stack.environment(logical_id)
            yield f"{logical_id} ({spec.handler})", spec.handler, environment, make(number)

    # -- the inputs --------------------------------------------------------------------------------
    def access_manager(self, number: int) -> dict[str, Any]:
        """The schedule's input with no token stored yet: every vendor token is minted and written."""
        stage = self.topology.stage
        systems = ("salesforce", "zuora", "stripe")
        self.ssm.delete_parameters(Names=[f"/concord/{stage}/tokens/{system}" for system in systems])
        return {"reason": "schedule"}

    def account_event(self, number: int) -> dict[str, Any]:
        """A new Account (CDC CREATE with its fields): no CRM read, one billing create, one save."""
        self.account = self.crm.create("Account", {
            "Name": f"Bench {number} Ltd", "CurrencyIsoCode": "USD",
            "Billing_Email__c": f"ap{number}@example.com",
            "BillingStreet": "1 Main St", "BillingCity": "Springfield", "BillingPostalCode": "12345",
            "BillingCountryCode": "US", "BillingStateCode": "IL"})
        return self.sqs_event("AccountQueue", lambda b: self.account in _record_ids(b))

    def product_event(self, number: int) -> dict[str, Any]:
        from decimal import Decimal

        self.product, self.entry = self.crm.create_product(f"BENCH-{number}", f"Bench plan {number}", "USD",
                                                           Decimal("25.00"))
        return self.sqs_event("ProductQueue", lambda b: self.product in _record_ids(b)
                              and b["detail-type"] == "Product2ChangeEvent")

    def order_event(self, number: int) -> dict[str, Any]:
        """The activation of an order (the account and the product are synced already)."""
        from decimal import Decimal

        order = self.crm.create_order(self.account, "USD", self.entry, 3, Decimal("25.00"))
        self.crm.update("Order", order, {"Status": "Activated"})
        return self.sqs_event("OrderQueue", lambda b: order in _record_ids(b) and _change_type(b) == "UPDATE"
                              and b["detail-type"] == "OrderChangeEvent")

    def outbox_event(self, number: int) -> dict[str, Any]:
        """One stream batch (BatchSize 100) of what this round's syncs wrote, as Lambda hands it over."""
        self.pending += self.stream_records()
        batch, self.pending = self.pending[:100], self.pending[100:]
        return {"Records": batch}

    def writeback_event(self, number: int) -> dict[str, Any]:
        return self.sqs_event("WritebackQueue", lambda b: b["detail-type"] == "Account.Synced")

    def delivery_event(self, number: int) -> dict[str, Any]:
        return self.sqs_event("DeliveryQueue", lambda b: b["detail-type"] == "Account.Synced")

    def gateway_event(self, number: int) -> dict[str, Any]:
        """POST /events from a registered source: its links reach the correlation queue."""
        import uuid

        from infrastructure.local.http_api import proxy_event

        body = json.dumps({"metadata": {
            "source": "com.example.carrier", "eventName": "IdsLinked", "eventSchemaVersion": "1",
            "eventId": str(uuid.uuid4()), "correlationId": f"bench-{uuid.uuid4()}",
            "occurredAt": "2026-11-22T10:00:00Z"},
            "data": {"links": [{"entity": "account", "id": f"CARRIER-{number}", "crmId": self.account}]},
        }).encode()
        headers = {"content-type": "application/json", "x-api-key": self.source_key, "host": "127.0.0.1"}
        return proxy_event("POST", "/events", headers, body, api_id="bench", source_ip="127.0.0.1")

    def correlation_event(self, number: int) -> dict[str, Any]:
        return self.sqs_event("CorrelationQueue", lambda b: True)

    def _websocket_event(self, route: str, connection_id: str) -> dict[str, Any]:
        context = {"routeKey": route, "eventType": route.strip("$").upper(), "messageDirection": "IN",
                   "stage": self.topology.stage, "requestTimeEpoch": int(time.time() * 1000),
                   "requestId": f"bench-{connection_id}", "connectionId": connection_id, "apiId": "bench"}
        return {"requestContext": context, "isBase64Encoded": False}

    def connect_event(self, number: int) -> dict[str, Any]:
        from adapters.ws_tokens import issue

        secret = self.stack.sandboxes.credentials["websocket"]["secret"]
        event = self._websocket_event("$connect", f"conn-{number}=")
        event["queryStringParameters"] = {"token": issue(secret, subject="bench", room="all")}
        return event

    def disconnect_event(self, number: int) -> dict[str, Any]:
        return self._websocket_event("$disconnect", f"conn-{number}=")

    def fanout_event(self, number: int) -> dict[str, Any]:
        """A domain event for room "all", which holds one connection that has gone away (410 -> removed)."""
        table = self.topology.tables["ConnectionsTable"].name
        self.dynamodb.put_item(TableName=table, Item={
            "pk": {"S": f"gone-{number}="}, "room": {"S": "all"},
            "connected_at": {"N": str(int(time.time()))}, "expires_at": {"N": str(int(time.time()) + 3600)}})
        return self.sqs_event("NotificationsQueue", lambda b: b["detail-type"] == "Account.Synced")

    def reconcile_event(self, number: int) -> dict[str, Any]:
        return {"reason": "schedule"}

    # -- queues and the stream ---------------------------------------------------------------------
    def sqs_event(self, queue_id: str, wanted: Any) -> dict[str, Any]:
        """Receive until a message matches; that one becomes a one-record Lambda SQS event, every other
        message received is deleted (nothing piles up across rounds)."""
        from infrastructure.local.sqs_source import lambda_record

        queue = self.topology.queues[queue_id]
        for _ in range(50):
            messages = self.sqs.receive_message(QueueUrl=queue.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                                AttributeNames=["All"], MessageAttributeNames=["All"])
            found = None
            for message in messages.get("Messages", []):
                if found is None and wanted(json.loads(message["Body"])):
                    found = message
                self.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
            if found is not None:
                return {"Records": [lambda_record(found, queue.arn, self.stack.aws.region)]}
            time.sleep(0.05)
        raise RuntimeError(f"no matching message reached {queue_id}")

    def stream_records(self) -> list[dict[str, Any]]:
        """Every stream record written since the last call, in Lambda's record shape."""
        from infrastructure.local.stream_source import to_lambda_json

        arn = self.topology.tables["EventsTable"].stream_arn
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"],
                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records: list[dict[str, Any]] = []
        for shard_id, iterator in self.iterators.items():
            while iterator:
                answer = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = answer.get("NextShardIterator")
                self.iterators[shard_id] = iterator
                if not answer.get("Records"):
                    break
                records += [{**to_lambda_json(r), "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                             "awsRegion": self.stack.aws.region, "eventSourceARN": arn}
                            for r in answer["Records"]]
        return records


def _record_ids(body: dict[str, Any]) -> list[str]:
    header = body.get("detail", {}).get("payload", {}).get("ChangeEventHeader", {})
    return list(header.get("recordIds", []))


def _change_type(body: dict[str, Any]) -> str:
    return str(body.get("detail", {}).get("payload", {}).get("ChangeEventHeader", {}).get("changeType", ""))


def run_fresh(code: str, handler: str, event: Any, env: dict[str, str], *, importtime: bool = False,
              hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """One fresh interpreter; returns its wall time, its own import/invoke split, its result, its stderr."""
    with tempfile.TemporaryDirectory() as scratch:
        event_path, out_path = Path(scratch, "event.json"), Path(scratch, "out.json")
        event_path.write_text(json.dumps(event))
        argv = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", code, handler,
                str(event_path), str(out_path), ",".join(sorted(hidden))]
        started, used = time.perf_counter(), _children_cpu()
        done = subprocess.run(argv, env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        wall, cpu = time.perf_counter() - started, _children_cpu() - used
        if done.returncode != 0 or not out_path.exists():
            raise RuntimeError(f"{handler or 'baseline'} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        answer = json.loads(out_path.read_text())
    return {"wall_s": wall, "cpu_s": cpu, **answer, "stderr": done.stderr, "stdout": done.stdout}


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children: less sensitive than wall time to
    whatever else the (shared, two-core) machine runs at the same time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PROJECT_PACKAGES = frozenset({"adapters", "application", "domain", "entrypoints", "infrastructure"})


def not_packaged(requirements: Path = ROOT / "infrastructure" / "requirements-lambda.txt") -> frozenset[str]:
    """Top-level modules of the installed distributions that the requirements' closure does not reach."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = [line.strip() for line in requirements.read_text().splitlines()]
    todo = [Requirement(line) for line in lines if line and not line.startswith("#")]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        requirement = todo.pop()
        key = (canonicalize_name(requirement.name), frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(requirement.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            sub = Requirement(text)
            extras = requirement.extras or {""}
            if sub.marker is None or any(sub.marker.evaluate({"extra": extra}) for extra in extras):
                todo.append(sub)
    packaged = {name for name, _ in seen}
    return frozenset(module for module, dists in metadata.packages_distributions().items()
                     if module not in PROJECT_PACKAGES and not module.startswith("_")
                     and all(canonicalize_name(d) not in packaged for d in dists))


def succeeded(result: Any) -> bool:
    """A cold start only counts if its invocation did the work (no failed record, no error status)."""
    if not isinstance(result, dict):
        return True
    if result.get("batchItemFailures") or result.get("failed") or result.get("revoked"):
        return False
    return int(result.get("statusCode") or 200) < 300


def import_profile(stderr: str) -> tuple[list[tuple[float, int, str]], dict[str, float]]:
    """`-X importtime` lines -> top 10 (cumulative ms, depth, module) and self ms per top-level package."""
    rows: list[tuple[float, int, str]] = []
    per_package: dict[str, float] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        module = name.strip()
        rows.append((int(cumulative_us) / 1000, depth, module))
        package = module.split(".")[0]
        per_package[package] = per_package.get(package, 0.0) + int(self_us) / 1000
    return sorted(rows, reverse=True)[:10], per_package


def measure(stack: LambdaStack, rounds: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    profiles: dict[str, str] = {}
    hidden = frozenset() if "--venv" in sys.argv else not_packaged()
    scenario = stack.scenario()
    for number in range(rounds + 1):
        profiling = number == rounds  # the last round runs under -X importtime and is not timed
        for name, handler, env, event in scenario.round(number):
            code = BASELINE if name == "baseline" else CHILD
            answer = run_fresh(code, handler, event, env, importtime=profiling, hidden=hidden)
            if not succeeded(answer["result"]):
                raise RuntimeError(f"{name}: the invocation did not succeed: {answer['result']}\n"
                                   f"{answer['stdout'][-4000:]}")
            if profiling:
                profiles[name] = answer["stderr"]
            else:
                runs.setdefault(name, []).append(answer)
        print(f"round {number + 1}/{rounds + 1} done{' (importtime)' if profiling else ''}", file=sys.stderr)
    return runs, profiles


def report(runs: dict[str, list[dict[str, Any]]], profiles: dict[str, str], rounds: int) -> None:
    def median_ms(name: str, key: str) -> float:
        return statistics.median(run[key] for run in runs[name]) * 1000

    baseline, baseline_cpu = median_ms("baseline", "wall_s"), median_ms("baseline", "cpu_s")
    print(f"\nCold start: median of {rounds} fresh interpreters per handler. Baseline (import boto3, one SQS "
          f"client, one call): {baseline:.0f} ms wall, {baseline_cpu:.0f} ms CPU. Target: every handler "
          f"<= {TARGET}x (wall).\n")
    print(f"{'function (handler)':<60} {'wall ms':>7} {'ratio':>5} {'cpu ms':>6} {'ratio':>5} "
          f"{'import':>6} {'invoke':>6}  target")
    for name in runs:
        wall, cpu = median_ms(name, "wall_s"), median_ms(name, "cpu_s")
        verdict = "" if name == "baseline" else ("met" if wall / baseline <= TARGET else "MISSED")
        print(f"{name:<60} {wall:7.0f} {wall / baseline:5.2f} {cpu:6.0f} {cpu / baseline_cpu:5.2f} "
              f"{median_ms(name, 'import_s'):6.0f} {median_ms(name, 'invoke_s'):6.0f}  {verdict}")
    for name, stderr in profiles.items():
        top, packages = import_profile(stderr)
        print(f"\n{name}: -X importtime, {sum(packages.values()):.0f} ms of imports "
              "(first invocation included)")
        for cumulative, depth, module in top:
            print(f"    {cumulative:8.1f} ms  {'  ' * depth}{module}")
        heavy = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:10]
        print("    self ms by package: " + ", ".join(f"{p} {ms:.0f}" for p, ms in heavy))


def main() -> None:
    numbers = [arg for arg in sys.argv[1:] if arg.isdigit()]
    rounds = int(numbers[0]) if numbers else 3
    stack = LambdaStack.start()
    try:
        runs, profiles = measure(stack, rounds)
    finally:
        stack.stop()
    report(runs, profiles, rounds)


if __name__ == "__main__":
    main()
