"""The slice of an org's schema the sandbox holds: the standard objects concord reads and the custom
fields it expects (documented in adapters/crm/salesforce/mapping), with Salesforce's own validation
errors (`errorCode`, message, fields) for unknown fields, lengths, required fields and types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.iso import CURRENCIES


class SfError(Exception):
    """One Salesforce error: `code` is the errorCode (statusCode in collections)."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.fields, self.status = code, message, fields or [], status

    def as_rest(self) -> dict[str, Any]:
        return {"message": self.message, "errorCode": self.code, "fields": self.fields}

    def as_collection(self) -> dict[str, Any]:
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


@dataclass(frozen=True)
class Field:
    type: str  # string | email | picklist | date | datetime | double | currency | boolean | reference | id
    length: int = 0
    required: bool = False
    readonly: bool = False
    external_id: bool = False
    target: str = ""  # reference target object
    values: tuple[str, ...] = ()  # restricted picklist values (empty: unrestricted)


SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                 "SystemModstamp")
_SYSTEM = {"Id": Field("id", readonly=True), "IsDeleted": Field("boolean", readonly=True),
           **{name: Field("datetime", readonly=True) for name in ("CreatedDate", "LastModifiedDate",
                                                                  "SystemModstamp")},
           **{name: Field("reference", readonly=True, target="User") for name in ("CreatedById",
                                                                                  "LastModifiedById")}}
_S = Field("string", 255)
_SYNC = {"Concord_Id__c": Field("string", 255, external_id=True),
         "Concord_Sync_Status__c": Field("picklist", 40, values=("Synced", "Pending", "Failed")),
         "Concord_Sync_Message__c": Field("string", 255), "Concord_Correlation_Id__c": Field("string", 64),
         "Concord_Last_Sync__c": Field("datetime"), "CurrencyIsoCode": Field("picklist", 3, values=())}


def _address(prefix: str) -> dict[str, Field]:
    return {f"{prefix}Street": Field("string", 255), f"{prefix}City": Field("string", 40),
            f"{prefix}State": Field("string", 80), f"{prefix}PostalCode": Field("string", 20),
            f"{prefix}Country": Field("string", 80), f"{prefix}StateCode": Field("string", 10),
            f"{prefix}CountryCode": Field("string", 10)}


SCHEMAS: dict[str, dict[str, Field]] = {
    "Account": {**_SYSTEM, **_SYNC, "Name": Field("string", 255, required=True), "Phone": Field("string", 40),
                "Type": _S, "Industry": _S, "Description": Field("string", 32000),
                **_address("Billing"), **_address("Shipping"), "Billing_Email__c": Field("email", 80),
                "Payment_Terms__c": Field("string", 100), "Tax_Id__c": Field("string", 64),
                "Account_Status__c": Field("picklist", 40, values=("Active", "Inactive", "Closed")),
                "Billing_Account_Id__c": Field("string", 64), "Billing_Account_Number__c": Field("string", 50)},
    "Order": {**_SYSTEM, **_SYNC, "AccountId": Field("reference", required=True, target="Account"),
              "EffectiveDate": Field("date", required=True), "EndDate": Field("date"),
              "Status": Field("picklist", 40, required=True, values=("Draft", "Activated")),
              "OrderNumber": Field("string", 30, readonly=True), "Description": Field("string", 32000),
              "Pricebook2Id": Field("reference", target="Pricebook2"), "Term_Months__c": Field("double"),
              "Subscription_Status__c": Field("picklist", 40, values=("Pending", "Active", "Suspended",
                                                                      "Cancelled")),
              "Subscription_Number__c": Field("string", 50), "Billing_Subscription_Id__c": Field("string", 64)},
    "OrderItem": {**_SYSTEM, **_SYNC, "OrderId": Field("reference", required=True, target="Order"),
                  "PricebookEntryId": Field("reference", required=True, target="PricebookEntry"),
                  "Product2Id": Field("reference", target="Product2"), "Quantity": Field("double", required=True),
                  "UnitPrice": Field("currency", required=True), "OrderItemNumber": Field("string", 10, readonly=True),
                  "Billing_Period__c": Field("picklist", 40, values=("Month", "Quarter", "Year"))},
    "Product2": {**_SYSTEM, **_SYNC, "Name": Field("string", 255, required=True), "ProductCode": _S,
                 "Description": Field("string", 4000), "IsActive": Field("boolean"), "Family": _S,
                 "Effective_From__c": Field("date"), "Effective_To__c": Field("date")},
    "PricebookEntry": {**_SYSTEM, **_SYNC, "Pricebook2Id": Field("reference", required=True, target="Pricebook2"),
                       "Product2Id": Field("reference", required=True, target="Product2"),
                       "UnitPrice": Field("currency", required=True), "IsActive": Field("boolean"),
                       "UseStandardPrice": Field("boolean"),
                       "Billing_Period__c": Field("picklist", 40, values=("Month", "Quarter", "Year"))},
    "Pricebook2": {**_SYSTEM, "Name": Field("string", 255, required=True), "IsActive": Field("boolean"),
                   "IsStandard": Field("boolean", readonly=True), "Description": Field("string", 255)},
    # Read-only: Event Relay reports through it (rows appear when a relay is configured).
    "EventRelayFeedback": {name: Field("string", 255, readonly=True) for name in (
        "Id", "EventRelayConfigId", "RemoteResource", "Status", "ErrorCode", "ErrorMessage", "LastRelayedEventTime")},
}
# Change Data Capture is enabled for these (the entities concord consumes).
CDC_OBJECTS = ("Account", "Order", "OrderItem", "Product2", "PricebookEntry")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_value(obj: str, name: str, spec: Field, value: Any) -> Any:
    """The stored form of one written value, or the SfError Salesforce answers for it."""
    if value is None:
        return None
    kind = spec.type
    if kind in ("string", "email", "picklist", "reference", "id"):
        return _check_text(obj, name, spec, value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _parse_error("boolean", value)
        return value
    if kind in ("double", "currency"):
        return _check_number(value)
    if kind == "date":
        return _check_temporal(value, date.fromisoformat, "date").isoformat()
    return format_datetime(_check_temporal(value, lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
                                           "datetime"))


def _check_text(obj: str, name: str, spec: Field, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _parse_error("String", value)
    text = str(value)
    if spec.length and len(text) > spec.length:
        raise SfError("STRING_TOO_LONG", f"{name}: data value too large: {text[:40]} (max length={spec.length})",
                      [name])
    if spec.type == "email" and text and not _EMAIL.match(text):
        raise SfError("INVALID_EMAIL_ADDRESS", f"{name}: invalid email address: {text}", [name])
    allowed = spec.values or (tuple(CURRENCIES) if name == "CurrencyIsoCode" else ())
    if spec.type == "picklist" and allowed and text not in allowed:
        raise SfError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                      f"{name}: bad value for restricted picklist field: {text}", [name])
    return text


def _check_number(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _parse_error("double", value)
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise _parse_error("double", value) from exc
    if not number.is_finite():
        raise _parse_error("double", value)
    return number


def _check_temporal(value: Any, parse: Any, kind: str) -> Any:
    try:
        return parse(str(value))
    except ValueError as exc:
        raise _parse_error(kind, value) from exc


def _parse_error(kind: str, value: Any) -> SfError:
    return SfError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from VALUE_STRING value {value}")


def format_datetime(moment: datetime) -> str:
    """Salesforce's REST rendering: UTC, milliseconds and a +0000 offset."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
