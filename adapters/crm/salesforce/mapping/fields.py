"""The Salesforce fields concord reads and writes, and the custom fields it expects in the org.

Custom fields concord expects (create them in the org; the sandbox has them):

    Account   Concord_Id__c (Text 255, External ID)        concord's id, for idempotent upserts
              Billing_Email__c (Email)                     canonical `email`
              Payment_Terms__c (Text 100), Tax_Id__c (Text 64)
              Account_Status__c (Picklist Active/Inactive/Closed)   canonical `status`
              Billing_Account_Id__c (Text 64), Billing_Account_Number__c (Text 50)   written back
    Order     Term_Months__c (Number)                      canonical `term_months` (else EndDate is used)
              Subscription_Status__c (Picklist Pending/Active/Suspended/Cancelled),
              Subscription_Number__c (Text 50), Billing_Subscription_Id__c (Text 64)   written back
    OrderItem, PricebookEntry   Billing_Period__c (Picklist Month/Quarter/Year; empty = Month)
    Product2  Effective_From__c, Effective_To__c (Date)
    every synced object   Concord_Sync_Status__c (Picklist Synced/Pending/Failed),
              Concord_Sync_Message__c (Text 255), Concord_Correlation_Id__c (Text 64),
              Concord_Last_Sync__c (Date/Time)

Multi-currency must be on (CurrencyIsoCode), and State and Country/Territory Picklists should be, so
that BillingCountryCode holds an ISO code; without them BillingCountry must hold the ISO code itself.
"""

from __future__ import annotations

from domain.errors import ValidationError

EXTERNAL_ID_FIELD = "Concord_Id__c"

SOBJECTS = {"account": "Account", "order": "Order", "product": "Product2"}
CDC_ENTITIES = {"Account": "account", "Order": "order", "OrderItem": "order_line", "Product2": "product",
                "PricebookEntry": "price"}

# canonical account field -> Salesforce field (country parts are handled apart: *CountryCode/*Country)
ACCOUNT_FIELDS: dict[str, str] = {
    "name": "Name", "email": "Billing_Email__c", "phone": "Phone", "currency": "CurrencyIsoCode",
    "payment_terms": "Payment_Terms__c", "tax_id": "Tax_Id__c", "status": "Account_Status__c",
    **{f"{side}.{part}": f"{prefix}{sf}" for side, prefix in (("bill_to", "Billing"), ("sold_to", "Shipping"))
       for part, sf in (("street", "Street"), ("city", "City"), ("state", "State"), ("postal_code", "PostalCode"))},
}
ADDRESS_PREFIXES = {"bill_to": "Billing", "sold_to": "Shipping"}
ACCOUNT_STATUS = {"active": "Active", "inactive": "Inactive", "closed": "Closed"}

ORDER_FIELDS = {"AccountId": "account_crm_id", "Status": "status", "EffectiveDate": "effective_date",
                "EndDate": "end_date", "Term_Months__c": "term_months", "CurrencyIsoCode": "currency"}
ORDER_LINE_FIELDS = {"OrderId": "order_crm_id", "Product2Id": "product_crm_id", "Quantity": "quantity",
                     "UnitPrice": "unit_price", "Billing_Period__c": "period", "PricebookEntryId": "price_crm_id"}
PRODUCT_FIELDS = {"Name": "name", "ProductCode": "sku", "Description": "description", "IsActive": "active",
                  "Effective_From__c": "effective_from", "Effective_To__c": "effective_to"}
PRICE_FIELDS = {"Product2Id": "product_crm_id", "UnitPrice": "amount", "CurrencyIsoCode": "currency",
                "Billing_Period__c": "period", "IsActive": "active", "Pricebook2Id": "pricebook_crm_id"}

PERIODS = {"month": "Month", "quarter": "Quarter", "year": "Year"}

# Write-back fields and their Salesforce lengths (Text fields reject longer values: STRING_TOO_LONG).
SYNC_STATES = {"synced": "Synced", "pending": "Pending", "failed": "Failed"}
MESSAGE_MAX = 255
CORRELATION_MAX = 64
BILLING_ID_FIELDS: dict[str, dict[str, tuple[str, int]]] = {
    "account": {"billing_account_id": ("Billing_Account_Id__c", 64),
                "billing_account_number": ("Billing_Account_Number__c", 50)},
    "order": {"subscription_id": ("Billing_Subscription_Id__c", 64),
              "subscription_number": ("Subscription_Number__c", 50),
              "subscription_status": ("Subscription_Status__c", 40)},
    "product": {},
}

ACCOUNT_QUERY_FIELDS = ("Id", "LastModifiedDate", *ACCOUNT_FIELDS.values(), "BillingCountry", "BillingCountryCode",
                        "ShippingCountry", "ShippingCountryCode")
ORDER_QUERY_FIELDS = ("Id", "LastModifiedDate", *ORDER_FIELDS)
ORDER_ITEM_QUERY_FIELDS = ("Id", "LastModifiedDate", "Quantity", "UnitPrice", "Billing_Period__c",
                           "Product2.ProductCode")
PRODUCT_QUERY_FIELDS = ("Id", "LastModifiedDate", *PRODUCT_FIELDS)
PRICE_QUERY_FIELDS = ("Id", "LastModifiedDate", "UnitPrice", "CurrencyIsoCode", "Billing_Period__c", "IsActive")


def sobject_for(entity: str) -> str:
    try:
        return SOBJECTS[entity]
    except KeyError:
        raise ValidationError("entity", f"{entity!r} is not one of {sorted(SOBJECTS)}") from None
