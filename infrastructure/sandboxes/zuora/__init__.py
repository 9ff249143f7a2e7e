"""The Zuora sandbox: `ZuoraSandbox(client_id, client_secret, ...)`, and `main`/`build_parser` for
`concord sandbox zuora`."""

from infrastructure.sandboxes.zuora.app import ZuoraSandbox
from infrastructure.sandboxes.zuora.cli import build_parser, main

__all__ = ["ZuoraSandbox", "build_parser", "main"]
