"""The Salesforce CRM adapter: REST client, OAuth, pure mapping, CDC parser, gateway, relay setup."""

from adapters.crm.salesforce.auth import SalesforceAuth, TokenGrant
from adapters.crm.salesforce.cdc import PlatformEvent, parse, parse_change, parse_platform_event
from adapters.crm.salesforce.client import SalesforceHttp
from adapters.crm.salesforce.gateway import SalesforceCrm
from adapters.crm.salesforce.relay import RelayPlan, Step, format_steps, setup_relay

__all__ = ["PlatformEvent", "RelayPlan", "SalesforceAuth", "SalesforceCrm", "SalesforceHttp", "Step", "TokenGrant",
           "format_steps", "parse", "parse_change", "parse_platform_event", "setup_relay"]
