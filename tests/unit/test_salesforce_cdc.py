"""Event Relay envelopes -> CrmChange / PlatformEvent (adapters/crm/salesforce/cdc.py)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.crm.salesforce.cdc import PlatformEvent, origin_client, parse, parse_change
from application.errors import PermanentError
from domain.errors import ValidationError

ORG, CHANNEL = "00DRM000000Fxts2AC", "0YLRM0000004Dfg4AE"


def envelope(header: dict[str, Any], detail_type: str = "AccountChangeEvent", **fields: Any) -> dict[str, Any]:
    """The VENDORS §1.6 example shape, with the given header values and payload fields."""
    base_header = {"entityName": "Account", "recordIds": ["001RM000004UF9sYAG"], "changeType": "UPDATE",
                   "changedFields": [], "nulledFields": [], "diffFields": [],
                   "changeOrigin": "com/salesforce/api/rest/60.0;client=crm-billing-sync",
                   "transactionKey": "0005e192-9e62-2554-3880-3c3718bd6308", "sequenceNumber": 1,
                   "commitTimestamp": 1736937000000, "commitNumber": 74487681550, "commitUser": "005RM000001hv4SYAQ"}
    return {"version": "0", "id": "5c42b99e-c214-4a9c-8fbd-1a41e5faa44a", "detail-type": detail_type,
            "source": f"aws.partner/salesforce.com/{ORG}/{CHANNEL}", "account": "123456789012",
            "time": "2026-01-15T10:30:00Z", "region": "eu-west-1", "resources": [],
            "detail": {"payload": {"ChangeEventHeader": {**base_header, **header}, **fields},
                       "schemaId": "I8b-dYxvxs5wOtCBr4qsew", "id": "b5f1e2c0", "replayId": "12345"}}


def test_the_vendors_example_update_becomes_a_canonical_change():
    change = parse_change(envelope({"changedFields": ["Name", "LastModifiedDate"]}, Name="Acme Ltd",
                                   LastModifiedDate="2026-01-15T10:29:59.000Z"))
    assert change.entity == "account" and change.change_type == "update"
    assert change.crm_ids == ("001RM000004UF9sYAG",) and dict(change.fields) == {"name": "Acme Ltd"}
    assert change.position == (74487681550, 1) and change.committed_at_ms == 1736937000000
    assert change.origin_client == "crm-billing-sync" and change.event_id == "5c42b99e-c214-4a9c-8fbd-1a41e5faa44a"
    assert change.transaction_key == "0005e192-9e62-2554-3880-3c3718bd6308" and change.needs_fetch is False


def test_unchanged_fields_null_in_the_payload_are_not_changes():
    change = parse_change(envelope({"changedFields": ["Phone"]}, Name=None, Phone="+33 1", Billing_Email__c=None))
    assert dict(change.fields) == {"phone": "+33 1"}


def test_nulled_fields_become_none():
    change = parse_change(envelope({"changedFields": ["Phone"], "nulledFields": ["Phone"]}, Phone=None))
    assert dict(change.fields) == {"phone": None}


def test_compound_address_parts_map_to_flat_canonical_fields():
    change = parse_change(envelope(
        {"changedFields": ["BillingAddress.City", "BillingAddress.CountryCode", "BillingAddress.Country"]},
        BillingAddress={"Street": None, "City": "Lyon", "State": None, "PostalCode": None, "Country": "France",
                        "CountryCode": "FR", "Latitude": None, "Longitude": None, "GeocodeAccuracy": None}))
    assert dict(change.fields) == {"bill_to.city": "Lyon", "bill_to.country": "FR"}


def test_a_whole_compound_named_as_changed_maps_every_part_it_carries():
    change = parse_change(envelope({"changedFields": ["ShippingAddress"]},
                                   ShippingAddress={"Street": "1 Main St", "City": "Leeds", "PostalCode": "LS1"}))
    assert dict(change.fields) == {"sold_to.street": "1 Main St", "sold_to.city": "Leeds",
                                   "sold_to.postal_code": "LS1"}


def test_a_create_carries_every_populated_field_and_drops_system_fields():
    change = parse_change(envelope({"changeType": "CREATE"}, Name="Acme", CurrencyIsoCode="EUR", Phone=None,
                                   CreatedDate="2026-01-15T10:29:59.000Z", OwnerId="005x", Account_Status__c="Active"))
    assert change.change_type == "create"
    assert dict(change.fields) == {"name": "Acme", "currency": "EUR", "status": "active"}


@pytest.mark.parametrize("gap", ["GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"])
def test_gap_events_ask_for_a_fetch(gap):
    change = parse_change(envelope({"changeType": gap, "changeOrigin": ""}))
    assert change.change_type == "gap" and change.needs_fetch and change.fields == {}
    assert change.origin_client is None


def test_an_overflow_keeps_the_wildcard_and_asks_for_a_fetch():
    change = parse_change(envelope({"changeType": "GAP_OVERFLOW", "recordIds": ["001*"], "changeOrigin": ""}))
    assert change.change_type == "overflow" and change.crm_ids == ("001*",) and change.needs_fetch


def test_a_delete_has_no_fields_and_needs_no_fetch():
    change = parse_change(envelope({"changeType": "DELETE"}))
    assert change.change_type == "delete" and change.fields == {} and not change.needs_fetch


def test_bitmap_changed_fields_cannot_be_read_so_the_record_is_fetched():
    change = parse_change(envelope({"changedFields": ["0x400080"]}, Name=None))
    assert change.needs_fetch and change.fields == {}


def test_a_changed_field_missing_from_the_payload_asks_for_a_fetch():
    change = parse_change(envelope({"changedFields": ["Name", "Phone"]}, Name="Acme"))
    assert change.needs_fetch and dict(change.fields) == {"name": "Acme", "phone": None}


@pytest.mark.parametrize(("entity", "canonical", "fields", "expected"), [
    ("Order", "order", {"Status": "Activated", "EffectiveDate": "2026-02-01", "Term_Months__c": 12.0},
     {"status": "activated", "effective_date": "2026-02-01", "term_months": 12}),
    ("OrderItem", "order_line", {"Quantity": 3.0, "UnitPrice": 12.5, "Billing_Period__c": "Year"},
     {"quantity": 3, "unit_price": Decimal("12.5"), "period": "year"}),
    ("Product2", "product", {"Name": "Widget", "ProductCode": "W-1", "IsActive": False},
     {"name": "Widget", "sku": "W-1", "active": False}),
    ("PricebookEntry", "price", {"UnitPrice": 9.99, "CurrencyIsoCode": "EUR", "Product2Id": "01t5g0000000001AAA"},
     {"amount": Decimal("9.99"), "currency": "EUR", "product_crm_id": "01t5g0000000001AAA"}),
])
def test_other_entities_map_their_changed_fields(entity, canonical, fields, expected):
    change = parse_change(envelope({"entityName": entity, "changedFields": list(fields)},
                                   f"{entity}ChangeEvent", **fields))
    assert change.entity == canonical and dict(change.fields) == expected


def test_the_flat_appflow_shape_is_refused_with_a_clear_error():
    appflow = envelope({})
    appflow["source"] = f"aws.partner/appflow.test/salesforce.com/{ORG}/x"
    appflow["detail"] = dict(appflow["detail"]["payload"])
    with pytest.raises(PermanentError, match="AppFlow") as caught:
        parse(appflow)
    assert caught.value.field == "detail"


def test_an_event_from_another_source_is_refused():
    other = envelope({})
    other["source"] = "com.example.crm"
    with pytest.raises(PermanentError) as caught:
        parse(other)
    assert caught.value.field == "source"


def test_an_unknown_entity_is_refused_naming_the_header_field():
    with pytest.raises(PermanentError) as caught:
        parse(envelope({"entityName": "Contact"}, "ContactChangeEvent"))
    assert caught.value.field == "ChangeEventHeader.entityName"


def test_a_platform_event_is_parsed_by_its_api_name():
    event = envelope({}, "Order_Sync__e")
    event["detail"]["payload"] = {"CreatedDate": "2026-01-15T10:29:59.000Z", "CreatedById": "005x",
                                  "EventUuid": "u-1", "Order_Id__c": "801x"}
    parsed = parse(event)
    assert isinstance(parsed, PlatformEvent)
    assert parsed.name == "Order_Sync__e" and dict(parsed.fields) == {"Order_Id__c": "801x"}
    assert parsed.event_id == event["id"]


@pytest.mark.parametrize(("origin", "client"), [
    ("com/salesforce/api/rest/60.0;client=crm-billing-sync", "crm-billing-sync"),
    ("com/salesforce/api/soap/51.0;client=SfdcInternalAPI/", "SfdcInternalAPI"),
    ("com/salesforce/api/rest/60.0", None), ("", None)])
def test_the_client_is_read_from_change_origin(origin, client):
    assert origin_client(origin) == client


_JUNK = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans(), st.lists(st.integers(), max_size=2),
                  st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
_HEADER_KEYS = ["entityName", "recordIds", "changeType", "changedFields", "nulledFields", "commitNumber",
                "sequenceNumber", "commitTimestamp", "changeOrigin", "transactionKey"]


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(_HEADER_KEYS), _JUNK, max_size=4),
       st.dictionaries(st.sampled_from(["Name", "Phone", "BillingAddress", "Account_Status__c", "Billing_Email__c"]),
                       _JUNK, max_size=3))
def test_a_damaged_event_is_refused_naming_a_field_never_crashing(header_damage, payload_damage):
    event = copy.deepcopy(envelope({"changedFields": list(payload_damage)}, **payload_damage))
    event["detail"]["payload"]["ChangeEventHeader"].update(header_damage)
    try:
        parse(event)
    except (PermanentError, ValidationError) as error:
        assert error.field
