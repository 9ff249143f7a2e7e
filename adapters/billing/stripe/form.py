"""Stripe's form encoding: nested params flattened with bracket notation.

Stripe v1 takes `application/x-www-form-urlencoded` bodies only (VENDORS §0 #11); nested hashes and
arrays are spelled `metadata[crm_id]=…`, `items[0][price]=…`, `recurring[interval]=month`. An empty
string is how Stripe is told to unset a field (`phone=`, `metadata[key]=`, `pause_collection=`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any


def encode(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Flatten `params` into ordered (key, value) pairs; None values are left out (not sent)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        _flatten(str(key), value, pairs)
    return pairs


def _flatten(prefix: str, value: Any, pairs: list[tuple[str, str]]) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}[{key}]", inner, pairs)
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
        for index, inner in enumerate(value):
            _flatten(f"{prefix}[{index}]", inner, pairs)
    else:
        pairs.append((prefix, _scalar(value)))


def _scalar(value: Any) -> str:
    # Stripe spells booleans in lower case; Decimals keep their exact digits (never via float).
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)
