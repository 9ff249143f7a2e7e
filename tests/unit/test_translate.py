"""Bus messages -> commands (the entrypoints' only knowledge of which event means which use case)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from application.commands import ApplyBillingTrigger, LinkExternalIds, SyncOrderFromCrm, WriteBackStatus
from domain.errors import ValidationError
from domain.sync import CrmChange
from entrypoints.lambdas import _translate


def record(source, detail_type, data, **extra):
    return SimpleNamespace(source=source, detail_type=detail_type, detail={"data": data}, correlation_id="corr",
                           event_id="evt-1", receive_count=1, body="{}", **extra)


def test_links_as_routable_strings_and_as_objects_become_link_commands():
    rec = record("com.example.pg", "PaymentCaptured", {"links": ["account:001A:payment:pg:42", {
        "entity": "order", "crmId": "801B", "id": "x9"}]})
    commands = list(_translate.link_commands(rec, None))
    assert commands == [LinkExternalIds("account", "payment", "pg:42", "001A", "corr"),
                        LinkExternalIds("order", "com.example.pg", "x9", "801B", "corr")]


def test_a_malformed_link_is_refused_naming_its_index():
    with pytest.raises(ValidationError) as info:
        list(_translate.link_commands(record("s", "E", {"links": ["only:two"]}), None))
    assert info.value.field == "data.links[0]"


def test_a_billing_trigger_needs_its_object():
    rec = record("concord.billing", "PaymentFailed", {"objectType": "payment", "objectId": "p1", "accountId": "a1"})
    assert list(_translate.account_commands(rec, None)) == [
        ApplyBillingTrigger("payment", "p1", "a1", "PaymentFailed", "corr")]
    with pytest.raises(ValidationError, match=r"data\.objectId"):
        _translate.billing_trigger(record("concord.billing", "AccountChanged", {"objectType": "account"}))


def test_an_order_line_change_without_its_order_asks_the_crm_for_the_parent(monkeypatch):
    change = CrmChange("order_line", ("802X", "802Y"), "update", {}, (1, 1), 1, None, "t", "e")
    monkeypatch.setattr(_translate, "salesforce_change", lambda rec: change)
    crm = SimpleNamespace(parent_id=lambda entity, crm_id: {"802X": "801A", "802Y": "801A"}[crm_id])
    commands = list(_translate.order_commands(record("aws.partner/salesforce.com/o/c", "OrderItemChangeEvent", {}),
                                              SimpleNamespace(crm=crm)))
    assert commands == [SyncOrderFromCrm("801A", "corr")]  # two lines of one order: one sync


def test_write_back_maps_our_ids_to_the_crm_status_fields():
    rec = record("concord.domain", "Order.Synced", {"crmId": "801A", "state": {
        "ids": {"billing": "sub_1", "billing_number": "A-S1"}, "status": "suspended"}})
    [command] = list(_translate.writeback_commands(rec, None))
    assert command == WriteBackStatus("order", "801A", "synced", "synced in billing", {
        "subscription_id": "sub_1", "subscription_number": "A-S1", "subscription_status": "suspended"}, "evt-1", "corr")
