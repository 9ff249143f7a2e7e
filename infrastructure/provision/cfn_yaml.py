"""Load a CloudFormation/SAM YAML template, turning short tags (!Ref, !Sub...) into their long form.

PyYAML's safe loader rejects unknown tags, so each CloudFormation tag gets a constructor that builds the
JSON form CloudFormation itself uses: `!Ref X` -> {"Ref": "X"}, `!GetAtt A.B` -> {"Fn::GetAtt": ["A", "B"]},
`!Sub s` -> {"Fn::Sub": "s"}. Everything downstream (the resolver, the tests) sees one shape only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"

_FUNCTIONS = (
    "And Base64 Cidr Equals FindInMap GetAZs If ImportValue Join Not Or Select Split Sub Transform"
    " ToJsonString Length"
).split()


class TemplateError(ValueError):
    """The template cannot be read or uses something the provisioner does not understand."""


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # (no PyYAML stubs installed)
    """SafeLoader plus the CloudFormation short tags; still builds only plain data, never objects."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _function(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct(node, loader)}

    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct(node, loader)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct(node, loader)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):  # !GetAtt Resource.Attribute (attributes may themselves contain dots)
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


for _name in _FUNCTIONS:
    _CfnLoader.add_constructor(f"!{_name}", _function(_name))
_CfnLoader.add_constructor("!Ref", _ref)
_CfnLoader.add_constructor("!Condition", _condition)
_CfnLoader.add_constructor("!GetAtt", _get_att)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain dicts and lists, intrinsics in long form."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    if not isinstance(document, dict) or "Resources" not in document:
        raise TemplateError(f"{path} is not a CloudFormation template (no Resources)")
    return document
