"""The Salesforce sandbox (see server.py): `SalesforceSandbox`, `PutEventsSink`, `build_parser`, `main`."""

from infrastructure.sandboxes.salesforce.cli import build_parser, main
from infrastructure.sandboxes.salesforce.server import DEFAULT_CHANNEL_ID, DEFAULT_ORG_ID, SalesforceSandbox
from infrastructure.sandboxes.salesforce.sink import PutEventsSink

__all__ = ["DEFAULT_CHANNEL_ID", "DEFAULT_ORG_ID", "PutEventsSink", "SalesforceSandbox", "build_parser", "main"]
