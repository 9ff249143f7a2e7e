"""Provision what infrastructure/template.yaml declares into an AWS endpoint (moto in server mode locally).

    topology = provision(endpoint_url="http://127.0.0.1:5000", parameters={"Stage": "dev"})
    topology.queues["AccountQueue"].url, topology.functions["AccountFunction"].environment

Created: the KMS key and alias, every SQS queue (redrive policies and queue policies included), the
DynamoDB tables (keys, GSIs, stream, TTL, PITR, KMS), concord's bus, the Salesforce partner bus (a plain
custom bus locally) and every rule with its targets. Recorded, not created: functions, schedules and API
routes (the local runtime plays them). Provisioning twice is harmless: each step finds what exists.

Locally the partner bus cannot carry its real name: moto resolves a bus name in rule calls by its last
"/"-separated segment, so a name like aws.partner/salesforce.com/<org>/<channel> cannot hold rules there.
LOCAL_PARTNER_BUS has no "/"; the events put on it still carry the real partner source LOCAL_PARTNER_SOURCE.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3

from .cfn_yaml import TEMPLATE_PATH, TemplateError, load_template
from .functions import function_specs
from .intrinsics import Resolver
from .messaging import apply_queue_policy, apply_redrive, ensure_archive, ensure_bus, ensure_queue, ensure_rule
from .model import FunctionSpec, QueueInfo, RuleInfo, TableInfo, Topology
from .storage import ensure_key, ensure_table

__all__ = [
    "LOCAL_PARTNER_BUS",
    "LOCAL_PARTNER_SOURCE",
    "TEMPLATE_PATH",
    "FunctionSpec",
    "QueueInfo",
    "RuleInfo",
    "TableInfo",
    "TemplateError",
    "Topology",
    "load_template",
    "provision",
]

LOCAL_PARTNER_SOURCE = "aws.partner/salesforce.com/00Dsandbox/0YLsandbox"
LOCAL_PARTNER_BUS = "salesforce-partner-00Dsandbox-0YLsandbox"
_SERVICES = ("kms", "dynamodb", "sqs", "events")


def provision(
    *,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
    template_path: Path | str = TEMPLATE_PATH,
) -> Topology:
    """Create the template's resources (idempotently) and describe them. endpoint_url None: boto3's own."""
    template = load_template(template_path)
    session = boto3.session.Session(region_name=region)
    clients = {name: session.client(name, endpoint_url=endpoint_url) for name in _SERVICES}
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    pseudo = {
        "AWS::Region": region,
        "AWS::AccountId": account,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "concord",
    }
    values = {"SalesforcePartnerBusName": LOCAL_PARTNER_BUS, **(parameters or {})}
    resolver = Resolver(template, values, pseudo)
    return _Provisioner(template, resolver, clients).run()


class _Provisioner:
    def __init__(self, template: Mapping[str, Any], resolver: Resolver, clients: Mapping[str, Any]) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template["Resources"]
        self.resolver = resolver
        self.clients = clients

    def of_type(self, kind: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [
            (logical_id, resource.get("Properties", {}))
            for logical_id, resource in self.resources.items()
            if resource["Type"] == kind and self.resolver.included(resource)
        ]

    def run(self) -> Topology:
        """Dependency order: key, queues, tables, buses, rules (they target queues), queue policies (they
        name rules). Redrive policies come after all queues, since a DLQ may be declared after its queue."""
        key_id, alias_id = self.of_type("AWS::KMS::Key")[0][0], self.of_type("AWS::KMS::Alias")[0][0]
        alias = ensure_key(self.clients["kms"], self.resolver, key_id, alias_id, self.resources)
        queues = self._queues()
        tables = {
            logical_id: ensure_table(self.clients["dynamodb"], self.resolver, logical_id, props)
            for logical_id, props in self.of_type("AWS::DynamoDB::Table")
        }
        bus_id, bus = self._buses()
        for _, props in self.of_type("AWS::Events::Archive"):
            ensure_archive(self.clients["events"], self.resolver, props)
        rules = {
            logical_id: ensure_rule(self.clients["events"], self.resolver, logical_id, props)
            for logical_id, props in self.of_type("AWS::Events::Rule")
        }
        for _, props in self.of_type("AWS::SQS::QueuePolicy"):
            apply_queue_policy(self.clients["sqs"], self.resolver, props)
        return Topology(
            region=self.resolver.ref("AWS::Region"),
            account_id=self.resolver.ref("AWS::AccountId"),
            stage=self.resolver.ref("Stage"),
            bus_name=bus,
            bus_arn=self.resolver.get_att(bus_id, "Arn"),
            partner_bus_name=self.resolver.ref("SalesforcePartnerBusName") or None,
            kms_key_id=self.resolver.ref(key_id),
            kms_key_arn=self.resolver.get_att(key_id, "Arn"),
            kms_alias=alias,
            queues=queues,
            tables=tables,
            rules=rules,
            functions=function_specs(self.template, self.resolver, queues, tables),
        )

    def _queues(self) -> dict[str, QueueInfo]:
        sqs, declared = self.clients["sqs"], self.of_type("AWS::SQS::Queue")
        for logical_id, props in declared:
            ensure_queue(sqs, self.resolver, logical_id, props)
        return {name: apply_redrive(sqs, self.resolver, name, props) for name, props in declared}

    def _buses(self) -> tuple[str, str]:
        """concord's bus, and the partner bus the forwarding rule sits on (Event Relay creates it in AWS)."""
        (bus_id, props), = self.of_type("AWS::Events::EventBus")
        name = self.resolver.resolve(props["Name"])
        arn = ensure_bus(self.clients["events"], name)
        self.resolver.bind(bus_id, name, Arn=arn, Name=name)
        partner = self.resolver.ref("SalesforcePartnerBusName")
        if partner:
            ensure_bus(self.clients["events"], partner)
        return bus_id, name
