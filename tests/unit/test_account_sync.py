"""Use case: sync an account from a CRM change (issue 2's list of cases, through the fakes)."""

from __future__ import annotations

import pytest

from application.errors import OutcomeUnknown, PermanentError, RetryableError
from domain.account import Account
from domain.errors import ValidationError


def events_of(world, crm_id="001A"):
    return [type(e).__name__ for e in world.app.repository.event_store.get(Account.create_id(crm_id))]


def test_a_new_crm_account_becomes_a_billing_account_and_is_linked(world):
    [outcome] = world.new_account()
    account = world.app.get_or_none(Account, "001A")
    assert outcome.action == "synced"
    assert account.billing_id in world.billing.accounts
    assert world.billing.accounts[account.billing_id].crm_id == "001A"
    assert account.last_sync["state"] == "synced"
    assert events_of(world) == ["Registered", "BillingLinked", "BillingStateChanged", "Synced"]


def test_a_duplicate_cdc_message_changes_nothing_and_writes_nothing(world):
    world.new_account()
    change = world.change("001A", {"name": "Acme Group"})
    world.sync_account(change)
    writes, versions = world.billing.writes, len(events_of(world))
    [outcome] = world.sync_account(change)
    assert outcome.action == "noop"
    assert world.billing.writes == writes and len(events_of(world)) == versions


def test_late_older_cdc_event_still_applies_its_other_fields(world):
    world.new_account()
    world.sync_account(world.change("001A", {"name": "Newest Name"}, commit=500))
    world.sync_account(world.change("001A", {"name": "Older Name", "phone": "+33 1 23"}, commit=400))
    account = world.app.get_or_none(Account, "001A")
    assert account.fields["name"] == "Newest Name"
    assert account.fields["phone"] == "+33 1 23"
    billing = world.billing.accounts[account.billing_id]
    assert billing.fields["phone"] == "+33 1 23" and billing.fields["name"] == "Newest Name"


def test_only_the_changed_fields_are_sent_to_billing(world):
    world.new_account()
    world.sync_account(world.change("001A", {"phone": "+44 1"}))
    account = world.app.get_or_none(Account, "001A")
    last_update = [k for k in world.billing._replies if "update-billing-account" in k]
    assert len(last_update) == 1 and account.fields["phone"] == "+44 1"


def test_an_echo_of_concords_own_crm_write_is_not_synced_back(world):
    world.new_account()
    writes = world.billing.writes
    [outcome] = world.sync_account(world.change("001A", {"name": "Echo"}, origin="concord"))
    assert outcome.action == "ignored"
    assert world.billing.writes == writes
    assert world.app.get_or_none(Account, "001A").fields["name"] == "Acme Ltd"


def test_a_billing_owned_field_sent_by_the_crm_is_ignored_and_the_rest_applied(world):
    world.new_account()
    number = world.app.get_or_none(Account, "001A").billing["billing_account_number"]
    world.sync_account(world.change("001A", {"billing_account_number": "HACK", "phone": "+1 2"}))
    account = world.app.get_or_none(Account, "001A")
    assert account.billing["billing_account_number"] == number
    assert account.fields["phone"] == "+1 2"


def test_an_unknown_field_name_is_refused_naming_it(world):
    world.new_account()
    with pytest.raises(ValidationError, match="favourite_colour"):
        world.sync_account(world.change("001A", {"favourite_colour": "blue"}))


def test_a_gap_event_makes_concord_read_the_whole_record(world):
    world.new_account()
    world.crm.put_account({"name": "Changed While We Were Away"}, "001A")
    [outcome] = world.sync_account(world.change("001A", {}, change_type="gap", needs_fetch=True))
    assert outcome.action == "synced"
    assert world.app.get_or_none(Account, "001A").fields["name"] == "Changed While We Were Away"


def test_a_retryable_vendor_failure_then_success_creates_one_account(world):
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001A")
    change = world.change("001A", {"name": "Acme", "currency": "EUR"}, change_type="create")
    world.billing.fail_next(RetryableError("503 from billing"), method="create_account")
    with pytest.raises(RetryableError):
        world.sync_account(change)
    account = world.app.get_or_none(Account, "001A")
    assert account is not None and account.billing_id is None  # first sight recorded; not in billing yet
    world.sync_account(change)
    assert len(world.billing.accounts) == 1
    assert world.app.get_or_none(Account, "001A").billing_id in world.billing.accounts


def test_a_permanent_vendor_error_records_sync_failed_and_surfaces_as_permanent(world):
    world.new_account()
    world.billing.fail_next(PermanentError("currency not enabled", code="53100320"), method="update_account")
    with pytest.raises(PermanentError):
        world.sync_account(world.change("001A", {"currency": "JPY"}))
    account = world.app.get_or_none(Account, "001A")
    assert events_of(world)[-1] == "SyncFailed"
    assert account.last_sync["state"] == "failed" and "currency not enabled" in account.last_sync["reason"]


def test_a_crash_after_the_vendor_write_then_a_retry_creates_no_second_object(world):
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001A")
    change = world.change("001A", {"name": "Acme", "currency": "EUR"}, change_type="create")
    world.billing.fail_next(OutcomeUnknown("timeout after sending"), method="create_account", after_effect=True)
    with pytest.raises(OutcomeUnknown):
        world.sync_account(change)
    world.sync_account(change, attempt=2)
    assert len(world.billing.accounts) == 1
    assert world.app.get_or_none(Account, "001A").billing_id in world.billing.accounts


def test_after_the_vendor_forgot_the_key_the_account_is_adopted_not_created_twice(world):
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001A")
    change = world.change("001A", {"name": "Acme", "currency": "EUR"}, change_type="create")
    world.billing.fail_next(OutcomeUnknown("timeout"), method="create_account", after_effect=True)
    with pytest.raises(OutcomeUnknown):
        world.sync_account(change)
    world.billing._replies.clear()  # 24 h later the vendor pruned the key
    world.sync_account(change, attempt=2)
    assert len(world.billing.accounts) == 1


def test_two_concurrent_writers_one_wins_the_other_reloads_and_retries(world):
    world.new_account()
    first = world.change("001A", {"phone": "+1 555"}, commit=900)
    second = world.change("001A", {"name": "Acme Renamed"}, commit=901)
    original_update = world.billing.update_account
    raced = []

    def update_then_race(billing_id, fields, key):
        result = original_update(billing_id, fields, key)
        if not raced:  # while the second writer talks to billing, the first one saves
            raced.append(True)
            world.sync_account(first)
        return result

    world.billing.update_account = update_then_race
    world.sync_account(second)
    account = world.app.get_or_none(Account, "001A")
    assert account.fields["phone"] == "+1 555" and account.fields["name"] == "Acme Renamed"
    assert events_of(world).count("DetailsChanged") == 2


def test_invalid_crm_data_is_refused_with_the_field_named(world):
    world.crm.put_account({"name": "Acme", "currency": "EURO"}, "001B")
    with pytest.raises(ValidationError) as info:
        world.sync_account(world.change("001B", {"name": "Acme", "currency": "EURO"}, change_type="create"))
    assert info.value.field == "currency"


def test_a_deleted_crm_account_is_closed(world):
    world.new_account()
    world.sync_account(world.change("001A", {}, change_type="delete"))
    assert world.app.get_or_none(Account, "001A").closed


def test_two_workers_seeing_a_new_account_at_once_create_one_billing_account(world):
    """The create event and an edit event of a new record are handled concurrently (the demo's race)."""
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001R")
    create = world.change("001R", {"name": "Acme", "currency": "EUR"}, change_type="create", commit=10)
    world.crm.put_account({"name": "Acme Inc", "bill_to.city": "Cambridge"}, "001R")
    edit = world.change("001R", {"name": "Acme Inc", "bill_to.city": "Cambridge"}, commit=11)
    original_create = world.billing.create_account
    raced = []

    def create_while_the_other_worker_runs(crm_id, fields, key):
        if not raced:  # the edit's worker runs completely while the create's worker talks to billing
            raced.append(True)
            world.sync_account(edit)
        return original_create(crm_id, fields, key)

    world.billing.create_account = create_while_the_other_worker_runs
    world.sync_account(create)
    [billing] = world.billing.accounts.values()
    assert billing.fields["name"] == "Acme Inc" and billing.fields["bill_to.city"] == "Cambridge"
    assert world.app.get_or_none(Account, "001R").billing_id == billing.billing_id


def test_after_billing_refused_the_first_create_the_fixed_account_is_a_new_request(world):
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001F")
    create = world.change("001F", {"name": "Acme", "currency": "EUR"}, change_type="create", commit=20)
    world.billing.fail_next(PermanentError("currency not enabled", code="53100320"), method="create_account",
                            after_effect=False)
    with pytest.raises(PermanentError):
        world.sync_account(create)
    world.sync_account(world.change("001F", {"currency": "USD"}, commit=21))
    [billing] = world.billing.accounts.values()
    assert billing.fields["currency"] == "USD"


def test_an_older_cdc_event_of_the_same_second_as_a_whole_record_read_does_not_overwrite_it(world):
    """Salesforce's LastModifiedDate has seconds; commitTimestamp has milliseconds (the chaos run's find)."""
    world.crm.put_account({"name": "Acme", "currency": "EUR"}, "001S")
    world.sync_account(world.change("001S", {"name": "Acme", "currency": "EUR"}, change_type="create",
                                    at_ms=1_767_225_600_000))
    world.crm.put_account({"name": "Read Whole"}, "001S")  # modified at a whole second, per MemoryCrm
    modified_ms = int(__import__("datetime").datetime.fromisoformat(
        world.crm.accounts["001S"].modified_at.replace("Z", "+00:00")).timestamp() * 1000)
    world.sync_account(world.change("001S", {}, change_type="gap", needs_fetch=True))
    late = world.change("001S", {"name": "Older Edit"}, at_ms=modified_ms + 300)  # same second, older
    world.sync_account(late)
    assert world.app.get_or_none(Account, "001S").fields["name"] == "Read Whole"  # read again, still right
    assert world.crm.calls["get_account"] == 2  # the ambiguous change made concord read the record again
