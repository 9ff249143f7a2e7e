"""infrastructure/template.yaml: lints, transforms, names real handlers, dead-letters all, least privilege.

The checks on DLQs, alarms and IAM run on the CloudFormation that aws-sam-translator produces, so what
SAM adds (event source mappings, roles it would generate) is judged too, not only what we wrote.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from infrastructure.provision import TEMPLATE_PATH, load_template
from infrastructure.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "docs" / "bus-contract.md").read_text(encoding="utf-8")
TEMPLATE_TEXT = TEMPLATE_PATH.read_text(encoding="utf-8")


class _NoManagedPolicies:
    """ManagedPolicyLoader stub: the template names no AWS managed policy, so nothing is looked up."""

    def load(self) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    return yaml_parse(TEMPLATE_TEXT)


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    """The template after the SAM transform, as `sam deploy` would send it (CodeUri packaged to S3)."""
    packaged = yaml_parse(TEMPLATE_TEXT)
    packaged["Globals"]["Function"]["CodeUri"] = "s3://concord-artifacts/concord.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # the translator needs a region for ARNs
        return transform(packaged, {}, _NoManagedPolicies())


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _logical(get_att: Any) -> str:
    value = get_att["Fn::GetAtt"]
    return value[0] if isinstance(value, list) else value.split(".")[0]


# ---------------------------------------------------------------- lint and transform


def test_cfn_lint_reports_no_error():
    matches = lint(TEMPLATE_TEXT, config=ManualArgs(regions=["us-east-1"]))
    for match in (m for m in matches if m.rule.severity == "warning"):  # listed in pytest's summary
        warnings.warn(f"cfn-lint {match.rule.id} line {match.linenumber}: {match.message}", stacklevel=1)
    errors = [f"{m.rule.id} line {m.linenumber}: {m.message}" for m in matches if m.rule.severity == "error"]
    assert errors == []


def test_sam_transform_succeeds_and_produces_plain_cloudformation(sam, cfn):
    kinds = {resource["Type"] for resource in cfn["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert "Transform" not in cfn
    functions = _of_type(sam, "AWS::Serverless::Function")
    assert set(_of_type(cfn, "AWS::Lambda::Function")) == set(functions)


def test_provisioner_loader_reads_the_template_as_sam_does(sam):
    # The provisioner's own YAML loader must see exactly what the SAM tooling sees.
    assert load_template(TEMPLATE_PATH) == sam


# ---------------------------------------------------------------- handlers


def _handlers(sam: dict[str, Any]) -> dict[str, str]:
    return {
        name: r["Properties"]["Handler"] for name, r in _of_type(sam, "AWS::Serverless::Function").items()
    }


def test_template_declares_exactly_the_handlers_of_the_bus_contract(sam):
    documented = set(re.findall(r"entrypoints\.lambdas\.\w+\.\w+", CONTRACT))
    # The contract abbreviates the two other notifications handlers as `.connect` / `.disconnect`.
    abbreviated = re.findall(r"`\.(connect|disconnect)`", CONTRACT)
    documented |= {f"entrypoints.lambdas.notifications.{name}" for name in abbreviated}
    assert set(_handlers(sam).values()) == documented


def _all_handlers() -> Iterator[tuple[str, str]]:
    template = yaml_parse(TEMPLATE_TEXT)
    yield from sorted(_handlers(template).items())


@pytest.mark.parametrize(("function", "handler"), list(_all_handlers()))
def test_every_handler_imports_and_is_callable(function, handler):
    module_name, _, attribute = handler.rpartition(".")
    module = importlib.import_module(module_name)
    assert callable(getattr(module, attribute)), f"{function}: {handler} is not a function"


# ---------------------------------------------------------------- environment


def test_globals_set_every_variable_the_contract_names(sam):
    section = CONTRACT.split("## Function environment", 1)[1]
    documented = set(re.findall(r"`((?:CONCORD|PARAMETERS|SSM)_[A-Z_]+)", section))
    documented.discard("CONCORD_DLQ_URL")  # per function, checked below
    assert documented <= set(sam["Globals"]["Function"]["Environment"]["Variables"])


def test_every_concord_variable_is_one_settings_reads_or_the_per_function_dlq(sam):
    fields = {f"CONCORD_{name.upper()}" for name in Settings.model_fields}
    variables = set(sam["Globals"]["Function"]["Environment"]["Variables"])
    assert {v for v in variables if v.startswith("CONCORD_")} <= fields
    for name, resource in _of_type(sam, "AWS::Serverless::Function").items():
        own = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert "CONCORD_DLQ_URL" in own, name  # where the function dead-letters with a reason
        assert set(own) - {"CONCORD_DLQ_URL"} <= fields, name


def test_extension_environment_matches_the_design(sam):
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"] == "2773"
    assert int(variables["SSM_PARAMETER_STORE_TTL"]) <= 300  # the extension's cap (DESIGN §2.5)


def test_every_token_reader_gets_the_extension_layer_and_the_access_managers_name(sam):
    for name, resource in _of_type(sam, "AWS::Serverless::Function").items():
        role = sam["Resources"][_logical(resource["Properties"]["Role"])]
        reads_tokens = {"Ref": "TokenReaderPolicy"} in role["Properties"].get("ManagedPolicyArns", [])
        layers = resource["Properties"].get("Layers")
        variables = resource["Properties"]["Environment"]["Variables"]
        # The on-demand refresh invokes the access manager by the name the template gave it.
        refresher = variables.get("CONCORD_ACCESS_MANAGER_FUNCTION")
        assert refresher == ({"Ref": "AccessManagerFunction"} if reads_tokens else None), name
        if reads_tokens:
            layer = {"Ref": "ParametersSecretsExtensionLayerArn"}
            assert layers == {"Fn::If": ["HasExtensionLayer", [layer], {"Ref": "AWS::NoValue"}]}, name


# ---------------------------------------------------------------- event sources


def test_sqs_event_sources_report_partial_failures_and_cap_concurrency(cfn):
    mappings = _of_type(cfn, "AWS::Lambda::EventSourceMapping")
    queues = [
        m
        for m in mappings.values()
        if cfn["Resources"][_logical(m["Properties"]["EventSourceArn"])]["Type"] == "AWS::SQS::Queue"
    ]
    assert len(queues) == 7
    for mapping in queues:
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        concurrency = props["ScalingConfig"]["MaximumConcurrency"]
        assert concurrency == {"Ref": "VendorMaxConcurrency"} or 2 <= concurrency <= 1000
        assert 1 <= props["BatchSize"] <= 10


def test_vendor_concurrency_parameter_respects_the_aws_minimum(sam):
    parameter = sam["Parameters"]["VendorMaxConcurrency"]
    assert parameter["MinValue"] >= 2
    assert parameter["Default"] == Settings().max_concurrency


def test_queue_visibility_timeout_covers_six_function_timeouts(cfn):
    for mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        source = cfn["Resources"][_logical(mapping["Properties"]["EventSourceArn"])]
        if source["Type"] != "AWS::SQS::Queue":
            continue
        function = cfn["Resources"][mapping["Properties"]["FunctionName"]["Ref"]]
        assert source["Properties"]["VisibilityTimeout"] >= 6 * function["Properties"]["Timeout"]


# ---------------------------------------------------------------- dead letters and alarms


def test_consumers_dead_letter_themselves_no_later_than_the_queue_redrive(cfn):
    # The consumer dead-letters with a reason at max_receives; past the redrive count SQS would move the
    # message first, without one.
    for queue in _of_type(cfn, "AWS::SQS::Queue").values():
        redrive = queue["Properties"].get("RedrivePolicy")
        if redrive:
            assert Settings().max_receives <= redrive["maxReceiveCount"]


def _dead_letter_queues(cfn: dict[str, Any], function: str) -> list[str]:
    """Every queue where a failure of this function's invocations ends up."""
    props = cfn["Resources"][function]["Properties"]
    found = [_logical(props["DeadLetterConfig"]["TargetArn"])] if "DeadLetterConfig" in props else []
    for mapping in _of_type(cfn, "AWS::Lambda::EventSourceMapping").values():
        if mapping["Properties"]["FunctionName"] != {"Ref": function}:
            continue
        source = cfn["Resources"][_logical(mapping["Properties"]["EventSourceArn"])]
        if source["Type"] == "AWS::SQS::Queue":
            redrive = source["Properties"].get("RedrivePolicy")
            assert redrive and redrive["maxReceiveCount"] == 5, f"{function}: its queue has no redrive"
            found.append(_logical(redrive["deadLetterTargetArn"]))
        else:
            on_failure = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure")
            assert on_failure, f"{function}: stream source without an on-failure destination"
            found.append(_logical(on_failure["Destination"]))
    return found


def _alarmed_queues(cfn: dict[str, Any]) -> set[str]:
    alarmed = set()
    for alarm in _of_type(cfn, "AWS::CloudWatch::Alarm").values():
        p = alarm["Properties"]
        if (p["Namespace"], p["MetricName"]) != ("AWS/SQS", "ApproximateNumberOfMessagesVisible"):
            continue
        assert p["Threshold"] == 0 and p["ComparisonOperator"] == "GreaterThanThreshold"
        assert p.get("AlarmActions"), "an alarm nobody hears"
        (dimension,) = p["Dimensions"]
        alarmed.add(_logical(dimension["Value"]))
    return alarmed


def test_every_function_has_a_dead_letter_queue_with_an_alarm(cfn):
    alarmed = _alarmed_queues(cfn)
    for function in _of_type(cfn, "AWS::Lambda::Function"):
        queues = _dead_letter_queues(cfn, function)
        assert queues, f"{function} has neither a DLQ nor an on-failure destination"
        assert set(queues) <= alarmed, f"{function}: DLQ without an alarm: {set(queues) - alarmed}"


def test_every_rule_target_retries_and_dead_letters_to_an_alarmed_queue(cfn):
    alarmed = _alarmed_queues(cfn)
    rules = _of_type(cfn, "AWS::Events::Rule")
    assert len(rules) == 10
    for name, rule in rules.items():
        for target in rule["Properties"]["Targets"]:
            assert {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= set(target["RetryPolicy"]), name
            assert _logical(target["DeadLetterConfig"]["Arn"]) in alarmed, name
            assert "Input" not in target and "InputTransformer" not in target  # consumers get the whole event


def test_every_schedule_retries_and_dead_letters_to_an_alarmed_queue(cfn):
    alarmed = _alarmed_queues(cfn)
    schedules = _of_type(cfn, "AWS::Scheduler::Schedule")
    expressions = {s["Properties"]["ScheduleExpression"] for s in schedules.values()}
    assert expressions == {"rate(15 minutes)", "rate(1 day)"}
    for schedule in schedules.values():
        target = schedule["Properties"]["Target"]
        assert _logical(target["DeadLetterConfig"]["Arn"]) in alarmed
        assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_every_dead_letter_queue_of_the_template_is_alarmed(cfn):
    queues = _of_type(cfn, "AWS::SQS::Queue")
    dead_letter = {name for name, q in queues.items() if "RedrivePolicy" not in q["Properties"]}
    assert dead_letter == _alarmed_queues(cfn)


# ---------------------------------------------------------------- IAM


def _statements(cfn: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, resource in cfn["Resources"].items():
        props = resource.get("Properties", {})
        documents = [props.get("PolicyDocument"), props.get("KeyPolicy")]
        documents += [policy["PolicyDocument"] for policy in props.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                yield name, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_statement_grants_a_wildcard_action(cfn):
    for name, statement in _statements(cfn):
        for action in _as_list(statement.get("Action", [])):
            assert "*" not in action, f"{name}: {action}"


def test_no_statement_has_a_bare_wildcard_resource_except_the_key_policy(cfn):
    # KMS requires Resource "*" in a key policy: there it means "this key" (and nothing else).
    for name, statement in _statements(cfn):
        if cfn["Resources"][name]["Type"] == "AWS::KMS::Key":
            continue
        assert "*" not in _as_list(statement.get("Resource", [])), f"{name}: {statement}"


def test_no_role_carries_an_aws_managed_policy(cfn):
    # AWS's Lambda execution policies (which SAM would attach) grant logs and SQS on Resource "*".
    for name, role in _of_type(cfn, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert not (isinstance(arn, str) and ":iam::aws:policy/" in arn), f"{name}: {arn}"


def test_service_queues_accept_events_only_from_their_own_rules(cfn):
    rules_by_queue: dict[str, set[str]] = {}
    for name, rule in _of_type(cfn, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
            rules_by_queue.setdefault(_logical(target["Arn"]), set()).add(name)
    for policy in _of_type(cfn, "AWS::SQS::QueuePolicy").values():
        (queue,) = policy["Properties"]["Queues"]
        (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
        # The partner rule exists only with a partner bus: !If [HasPartnerBus, <its ARN>, AWS::NoValue].
        allowed = {_logical(arn["Fn::If"][1] if "Fn::If" in arn else arn) for arn in arns}
        if queue["Ref"] == "RuleDeadLetterQueue":
            assert allowed == set(_of_type(cfn, "AWS::Events::Rule"))
        else:
            assert allowed == rules_by_queue[queue["Ref"]], queue


def test_manage_connections_is_scoped_to_the_websocket_api(cfn):
    grants = [s for _, s in _statements(cfn) if s["Action"] == "execute-api:ManageConnections"]
    assert len(grants) == 1
    assert "${WebSocketApi}/${Stage}/POST/@connections/*" in grants[0]["Resource"]["Fn::Sub"]


def test_access_manager_alone_writes_tokens_and_only_under_the_stage_token_path(cfn):
    writers = [(name, s) for name, s in _statements(cfn) if "ssm:PutParameter" in _as_list(s["Action"])]
    assert [name for name, _ in writers] == ["AccessManagerRole"]
    resource = writers[0][1]["Resource"]["Fn::Sub"]
    assert resource.endswith(":parameter/concord/${Stage}/tokens/*")
    assert not _of_type(cfn, "AWS::SSM::Parameter")  # SecureStrings cannot be declared in CloudFormation


# ---------------------------------------------------------------- edges


def test_http_api_routes_are_the_gateway_routes_of_the_contract(sam):
    events = sam["Resources"]["GatewayFunction"]["Properties"]["Events"].values()
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events}
    assert routes == set(re.findall(r"`((?:GET|POST) /[\w/.]+)`", CONTRACT))


def test_websocket_api_routes_connect_and_disconnect_to_their_handlers(cfn):
    declared = _of_type(cfn, "AWS::ApiGatewayV2::Route").values()
    routes = {r["Properties"]["RouteKey"]: r["Properties"]["Target"] for r in declared}
    assert set(routes) == {"$connect", "$disconnect"}
    for key, handler in (("$connect", "connect"), ("$disconnect", "disconnect")):
        integration = cfn["Resources"][routes[key]["Fn::Sub"].split("${")[1].rstrip("}")]
        uri = integration["Properties"]["IntegrationUri"]["Fn::Sub"]
        function_id = re.search(r"\$\{(\w+)\.Arn\}", uri)[1]
        expected = f"entrypoints.lambdas.notifications.{handler}"
        assert cfn["Resources"][function_id]["Properties"]["Handler"] == expected


def test_partner_forwarding_rule_is_conditional_and_puts_only_on_concords_bus(cfn):
    rule = cfn["Resources"]["PartnerForwardRule"]
    assert rule["Condition"] == "HasPartnerBus"
    assert rule["Properties"]["EventBusName"] == {"Ref": "SalesforcePartnerBusName"}
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["ConcordBus", "Arn"]}
    role = cfn["Resources"][_logical(target["RoleArn"])]
    (statement,) = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {"Fn::GetAtt": ["ConcordBus", "Arn"]}


def test_outputs_name_every_endpoint(cfn):
    assert {"HttpApiUrl", "WebSocketUrl", "BusName", "BusArn"} <= set(cfn["Outputs"])
    queue_outputs = {name for name in cfn["Outputs"] if name.endswith("QueueUrl")}
    assert len(queue_outputs) == 7
