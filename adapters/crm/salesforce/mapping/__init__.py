"""The anti-corruption layer: pure mappings between Salesforce records and the canonical model.

See fields.py for the custom fields concord expects in the org.
"""

from adapters.crm.salesforce.mapping.account import account_fields_from_sf, account_from_sf, account_to_sf
from adapters.crm.salesforce.mapping.fields import CDC_ENTITIES, EXTERNAL_ID_FIELD, sobject_for
from adapters.crm.salesforce.mapping.order import line_to_sf, order_from_sf, order_to_sf
from adapters.crm.salesforce.mapping.product import price_to_sf, prices_from_sf, product_from_sf, product_to_sf
from adapters.crm.salesforce.mapping.status import status_to_sf

__all__ = ["CDC_ENTITIES", "EXTERNAL_ID_FIELD", "account_fields_from_sf", "account_from_sf", "account_to_sf",
           "line_to_sf", "order_from_sf", "order_to_sf", "price_to_sf", "prices_from_sf", "product_from_sf",
           "product_to_sf", "sobject_for", "status_to_sf"]
