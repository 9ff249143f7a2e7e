"""Resolve the intrinsic functions of a loaded template: Ref, Fn::Sub, Fn::GetAtt, Fn::If and conditions.

Resources the provisioner creates are bound to their physical values (`bind`) as they are created; a
reference to one that is not bound yet is a provisioner bug and raises. Resources it does not create
(Lambda functions, roles, APIs: the local runtime plays them) resolve to deterministic stand-ins built
from their names, so a function's environment can still be resolved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .cfn_yaml import TemplateError

NO_VALUE: Any = object()
"""AWS::NoValue: removes the enclosing key or list item."""

PROVISIONED_TYPES = frozenset(
    "AWS::SQS::Queue AWS::DynamoDB::Table AWS::KMS::Key AWS::KMS::Alias AWS::Events::EventBus"
    " AWS::Events::Rule".split()
)
# For stand-ins: the property naming the resource, and the ARN's service and resource prefix.
_STAND_IN = {
    "AWS::Serverless::Function": ("FunctionName", "lambda", "function:"),
    "AWS::Scheduler::Schedule": ("Name", "scheduler", "schedule/default/"),
    "AWS::SNS::Topic": ("TopicName", "sns", ""),
    "AWS::IAM::Role": ("RoleName", "iam", "role/"),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName", "iam", "policy/"),
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    def __init__(self, template: Mapping[str, Any], parameters: Mapping[str, str], pseudo: Mapping[str, str]):
        self._resources: Mapping[str, Any] = template["Resources"]
        self._conditions: Mapping[str, Any] = template.get("Conditions", {})
        declared = template.get("Parameters", {})
        unknown = set(parameters) - set(declared)
        if unknown:
            raise TemplateError(f"unknown template parameters: {sorted(unknown)}")
        self._values: dict[str, str] = {
            name: str(spec["Default"]) for name, spec in declared.items() if "Default" in spec
        }
        self._values.update({name: str(value) for name, value in parameters.items()})
        self._values.update(pseudo)
        self._refs: dict[str, str] = {}
        self._attrs: dict[tuple[str, str], str] = {}

    def bind(self, logical_id: str, ref: str, **attributes: str) -> None:
        """Record a created resource's physical id (what Ref returns) and its GetAtt attributes."""
        self._refs[logical_id] = ref
        self._attrs.update({(logical_id, name): value for name, value in attributes.items()})

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise TemplateError(f"unknown condition {name!r}")
        return bool(self.resolve(self._conditions[name]))

    def included(self, resource: Mapping[str, Any]) -> bool:
        """False for a resource whose Condition is false: CloudFormation would not create it."""
        name = resource.get("Condition")
        return name is None or self.condition(name)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(self.resolve, node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), = node.items()
            handler = _FUNCTIONS.get(key)
            # An IAM statement's "Condition" is a mapping; only a condition name is the intrinsic.
            if handler is not None and (key != "Condition" or isinstance(argument, str)):
                return handler(self, argument)
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._values:
            return self._values[name]
        if name in self._refs:
            return self._refs[name]
        return self._stand_in(name)[0]

    def get_att(self, logical_id: str, attribute: str) -> str:
        if (logical_id, attribute) in self._attrs:
            return self._attrs[(logical_id, attribute)]
        _, arn = self._stand_in(logical_id)
        if attribute == "Arn":
            return arn
        raise TemplateError(f"{logical_id}.{attribute} is not known (resource not provisioned)")

    def sub(self, template: str, variables: Mapping[str, Any] | None = None) -> str:
        variables = variables or {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the escape for a literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return self.get_att(logical_id, attribute)
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, template)

    def _stand_in(self, logical_id: str) -> tuple[str, str]:
        resource = self._resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"unresolved reference to {logical_id!r}")
        kind = resource["Type"]
        if kind in PROVISIONED_TYPES:
            raise TemplateError(f"{logical_id} ({kind}) is referenced before it was provisioned")
        name_property, service, prefix = _STAND_IN.get(kind, ("", "cloudformation", "stand-in/"))
        name = self.resolve(resource.get("Properties", {}).get(name_property, logical_id.lower()))
        region = "" if service == "iam" else self._values["AWS::Region"]
        partition, account = self._values["AWS::Partition"], self._values["AWS::AccountId"]
        return str(name), f"arn:{partition}:{service}:{region}:{account}:{prefix}{name}"


def _get_att(resolver: Resolver, argument: Any) -> str:
    logical_id, attribute = argument if isinstance(argument, list) else str(argument).split(".", 1)
    return resolver.get_att(str(logical_id), str(resolver.resolve(attribute)))


def _sub(resolver: Resolver, argument: Any) -> str:
    if isinstance(argument, list):
        return resolver.sub(argument[0], argument[1])
    return resolver.sub(argument)


def _if(resolver: Resolver, argument: list[Any]) -> Any:
    name, when_true, when_false = argument
    return resolver.resolve(when_true if resolver.condition(name) else when_false)


def _join(resolver: Resolver, argument: list[Any]) -> str:
    delimiter, items = argument
    return str(delimiter).join(str(item) for item in resolver.resolve(items))


_FUNCTIONS: dict[str, Any] = {
    "Ref": lambda r, a: r.ref(a),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": _sub,
    "Fn::If": _if,
    "Fn::Join": _join,
    "Fn::Select": lambda r, a: r.resolve(a[1])[int(r.resolve(a[0]))],
    "Fn::Equals": lambda r, a: r.resolve(a[0]) == r.resolve(a[1]),
    "Fn::Not": lambda r, a: not r.resolve(a[0]),
    "Fn::And": lambda r, a: all(r.resolve(item) for item in a),
    "Fn::Or": lambda r, a: any(r.resolve(item) for item in a),
    "Condition": lambda r, a: r.condition(a),
}
