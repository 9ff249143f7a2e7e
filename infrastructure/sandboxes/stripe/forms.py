"""Decoding Stripe's bracket-notation form bodies into nested values (Rack's rules, as Stripe's API).

`a[b]=1` -> {"a": {"b": "1"}}; `items[0][price]=p` -> {"items": [{"price": "p"}]};
`expand[]=x&expand[]=y` -> {"expand": ["x", "y"]}. A hash whose keys are all digits is a list.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from infrastructure.sandboxes.stripe.errors import InvalidParams

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def decode(text: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=False)
    except ValueError as exc:
        raise InvalidParams(f"Invalid request body: {exc}") from exc
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise InvalidParams(f"Invalid parameter name: {key}", param=key)
        _insert(root, [match.group(1), *_PART.findall(match.group(2))], value, key)
    return {key: _listify(value) for key, value in root.items()}  # the top level stays a hash


def _insert(node: dict[str, Any], path: list[str], value: str, key: str) -> None:
    for index, part in enumerate(path[:-1]):
        if part == "":  # items[][price]: a new element unless the last one lacks this key yet
            part = _append_slot(node, path[index + 1])
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidParams(f"Invalid parameter: {key} mixes a value and a hash", param=key)
        node = child
    last = path[-1]
    if last == "":
        last = str(sum(1 for k in node if k.isdigit()))
    if isinstance(node.get(last), dict):
        raise InvalidParams(f"Invalid parameter: {key} mixes a value and a hash", param=key)
    node[last] = value


def _append_slot(node: dict[str, Any], next_part: str) -> str:
    indices = sorted(int(k) for k in node if k.isdigit())
    if indices and next_part not in node[str(indices[-1])]:
        return str(indices[-1])
    return str(indices[-1] + 1 if indices else 0)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _listify(inner) for key, inner in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
