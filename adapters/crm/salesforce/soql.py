"""SOQL text built safely: ids are checked, strings quoted, datetimes in SOQL's literal form."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from application.errors import NotFound

_ID = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")


def checked_id(value: str, what: str = "crm_id") -> str:
    """A Salesforce id, or NotFound: nothing else may reach a URL or a SOQL string."""
    if not isinstance(value, str) or not _ID.match(value):
        raise NotFound(f"salesforce: {value!r} is not a Salesforce id", system="salesforce", code="MALFORMED_ID",
                       field=what)
    return value


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def datetime_literal(moment: datetime) -> str:
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def select(fields: Iterable[str], sobject: str, where: str = "", order_by: str = "", limit: int | None = None) -> str:
    # Field and object names are the adapter's constants; values reach `where` only via quote()/checked_id().
    text = f"SELECT {', '.join(fields)} FROM {sobject}"  # noqa: S608
    if where:
        text += f" WHERE {where}"
    if order_by:
        text += f" ORDER BY {order_by}"
    if limit is not None:
        text += f" LIMIT {int(limit)}"
    return text
