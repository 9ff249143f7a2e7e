"""Parameter checks as Stripe answers them: unknown, missing, wrong type, too long (all InvalidParams).

Every value arrives as a string (form encoding); "" is how a client unsets a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from infrastructure.sandboxes.stripe.errors import InvalidParams, missing_param, unknown_param

METADATA_MAX_KEYS, METADATA_KEY_MAX, METADATA_VALUE_MAX = 50, 40, 500


def only(params: Mapping[str, Any], allowed: Iterable[str], prefix: str = "") -> None:
    allowed = set(allowed)
    for name in params:
        if name not in allowed:
            raise unknown_param(f"{prefix}[{name}]" if prefix else name)


def text(params: Mapping[str, Any], name: str, *, max_len: int = 5000, required: bool = False,
         label: str | None = None) -> str | None:
    label = label or name
    value = params.get(name)
    if value is None:
        if required:
            raise missing_param(label)
        return None
    if not isinstance(value, str):
        raise InvalidParams(f"Invalid string: {value!r}", param=label)
    if len(value) > max_len:
        raise InvalidParams(f"Invalid string: {value[:20]}...; must be at most {max_len} characters", param=label)
    if required and not value:
        raise InvalidParams(f"You passed an empty string for '{label}'. We assume empty values are an "
                            "attempt to unset a parameter; however '{label}' cannot be unset.", param=label)
    return value


def integer(params: Mapping[str, Any], name: str, *, minimum: int | None = None, maximum: int | None = None,
            required: bool = False, label: str | None = None) -> int | None:
    label = label or name
    raw = text(params, name, required=required, label=label)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidParams(f"Invalid integer: {raw}", param=label) from exc
    if minimum is not None and value < minimum:
        raise InvalidParams(f"This value must be greater than or equal to {minimum}.", param=label)
    if maximum is not None and value > maximum:
        raise InvalidParams(f"This value must be less than or equal to {maximum}.", param=label)
    return value


def boolean(params: Mapping[str, Any], name: str, label: str | None = None) -> bool | None:
    raw = text(params, name, label=label or name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidParams(f"Invalid boolean: {raw}", param=label or name)
    return raw == "true"


def choice(params: Mapping[str, Any], name: str, choices: Iterable[str], *, required: bool = False,
           label: str | None = None) -> str | None:
    label = label or name
    raw = text(params, name, required=required, label=label)
    options = list(choices)
    if raw is not None and raw not in options:
        raise InvalidParams(f"Invalid {label}: must be one of {', '.join(options)}", param=label)
    return raw


def hash_(params: Mapping[str, Any], name: str, label: str | None = None) -> dict[str, Any] | str | None:
    """A nested hash, "" (unset) or None (absent)."""
    value = params.get(name)
    if value is None or value == "" or isinstance(value, dict):
        return value
    raise InvalidParams(f"Invalid object: {label or name} must be a hash", param=label or name)


def metadata(current: Mapping[str, str], value: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, a "" value deletes its key, metadata="" clears all."""
    if value is None:
        return dict(current)
    if value == "":
        return {}
    if isinstance(value, list):  # all-digit keys came back as a list from the form decoder
        value = {str(index): item for index, item in enumerate(value)}
    if not isinstance(value, dict):
        raise InvalidParams("Invalid object", param="metadata")
    merged = dict(current)
    for key, item in value.items():
        _check_metadata_pair(key, item)
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    if len(merged) > METADATA_MAX_KEYS:
        raise InvalidParams(f"You can have at most {METADATA_MAX_KEYS} metadata keys", param="metadata")
    return merged


def _check_metadata_pair(key: str, item: Any) -> None:
    if not isinstance(item, str):
        raise InvalidParams(f"Invalid string: {item!r}", param=f"metadata[{key}]")
    if len(key) > METADATA_KEY_MAX:
        raise InvalidParams(f"Metadata keys can have up to {METADATA_KEY_MAX} characters", param="metadata")
    if len(item) > METADATA_VALUE_MAX:
        raise InvalidParams(f"Metadata values can have up to {METADATA_VALUE_MAX} characters",
                            param=f"metadata[{key}]")
