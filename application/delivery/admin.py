"""Registering a destination (the `concord destinations add` CLI): validated, with a new signing secret."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterable
from urllib.parse import urlsplit

from application.delivery.ports import AUTH_KINDS, Destination
from domain.errors import ValidationError

SECRET_PREFIX = "cds_"
_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def new_destination(*, name: str, url: str, event_names: Iterable[str], auth_kind: str = "none",
                    auth_secret_ref: str | None = None, rate_per_s: float = 5.0) -> tuple[Destination, str]:
    """A destination and its signing secret: the secret is shown once, for the receiver to keep."""
    names = frozenset(n.strip() for n in event_names if n.strip())
    _check(name, url, names, auth_kind, auth_secret_ref, rate_per_s)
    signing_secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    kind = next(k for k in AUTH_KINDS if k == auth_kind)
    destination = Destination(id=str(uuid.uuid4()), name=name.strip(), url=url, event_names=names,
                              signing_secrets=(signing_secret,), auth_kind=kind,
                              auth_secret_ref=auth_secret_ref or None, rate_per_s=rate_per_s)
    return destination, signing_secret


def _check(name: str, url: str, names: frozenset[str], auth_kind: str, auth_secret_ref: str | None,
           rate_per_s: float) -> None:
    if not name.strip():
        raise ValidationError("name", "is required")
    parts = urlsplit(url)
    # Plain http only to this machine (the local stack): signed bodies and credentials need TLS.
    if not parts.hostname or parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS):
        raise ValidationError("url", "must be an https:// URL (http:// only for localhost)")
    if not names or not all(_EVENT_NAME.match(n) for n in names):
        raise ValidationError("event_names", "one or more event names, e.g. Order.Activated")
    if auth_kind not in AUTH_KINDS:
        raise ValidationError("auth_kind", f"must be one of {', '.join(AUTH_KINDS)}")
    if auth_kind != "none" and not auth_secret_ref:
        raise ValidationError("auth_secret_ref", f"auth {auth_kind} needs the name of its secret")
    if not 0 < rate_per_s <= 1000:
        raise ValidationError("rate_per_s", "must be between 0 and 1000 requests per second")
