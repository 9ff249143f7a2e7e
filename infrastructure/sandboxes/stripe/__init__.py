"""The Stripe sandbox: `StripeSandbox(api_keys, webhook_url=…, webhook_secrets=…, rate_limit_per_s=25)`."""

from infrastructure.sandboxes.stripe.app import StripeSandbox
from infrastructure.sandboxes.stripe.cli import build_parser, main

__all__ = ["StripeSandbox", "build_parser", "main"]
