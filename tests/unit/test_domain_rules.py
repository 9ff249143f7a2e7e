"""The model's own rules: state table, positions, ownership, values (with hypothesis properties)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.canonical import BillingSubscription, OrderLine, OrderSnapshot, validate_account_fields
from domain.correlation import Correlation
from domain.errors import IdAlreadyLinked, InvalidOrderTransition, ValidationError
from domain.iso import CURRENCIES
from domain.order import ALLOWED, Order, OrderStatus
from domain.sync import merge_fields, object_is_newer
from domain.values import Money, System, minor_unit_exponent

ACTIONS = sorted(ALLOWED)


def _order(status: OrderStatus) -> Order:
    snapshot = OrderSnapshot("801X", "001X", "activated", date(2026, 12, 1), 12, "EUR",
                             (OrderLine("L1", "SKU", 1, Money(Decimal("5"), "EUR")),))
    order = Order.receive(snapshot, "c")
    order.status = status  # the state under test; transitions themselves are tested below
    return order


def _call(order: Order, action: str) -> None:
    subscription = BillingSubscription("sub_1", "S-1", "active", "ba_1", "801X", "2")
    snapshot = OrderSnapshot("801X", "001X", "activated", date(2026, 12, 1), 12, "EUR",
                             (OrderLine("L1", "SKU", 2, Money(Decimal("5"), "EUR")),))
    calls = {
        "submit": lambda: order.submit({}, "c"), "activate": lambda: order.activate(subscription, "c"),
        "reject": lambda: order.reject("no", "c"), "amend": lambda: order.amend(snapshot, "3", "c"),
        "suspend": lambda: order.suspend("payment failed", "c"), "resume": lambda: order.resume("c"),
        "cancel": lambda: order.cancel("2027-01-01", "crm", "c"), "revise": lambda: order.revise(snapshot, "c"),
        "reprice": lambda: order.reprice({"SKU": "price_2"}, snapshot, "price_1 is no longer sold", "c"),
    }
    calls[action]()


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_transition_outside_the_state_table_is_a_named_business_rule_error(status, action):
    order = _order(status)
    allowed = status in ALLOWED[action] or (action == "submit" and status == OrderStatus.SUBMITTED)
    if status == OrderStatus.SUBMITTED and action == "submit":
        order.submission_key = "k"
    if allowed:
        _call(order, action)
    else:
        with pytest.raises(InvalidOrderTransition) as info:
            _call(order, action)
        assert info.value.code == "INVALID_ORDER_TRANSITION" and action in str(info.value)


def test_the_happy_path_of_the_state_table():
    order = _order(OrderStatus.RECEIVED)
    key = order.submit({"SKU": "price_1"}, "c")
    assert order.submit({}, "c") == key  # asked again while submitted: the same key, no new event
    _call(order, "activate")
    _call(order, "suspend")
    _call(order, "resume")
    _call(order, "cancel")
    assert order.status == OrderStatus.CANCELLED


def test_a_duplicate_field_change_is_stale_and_an_older_one_too():
    merge = merge_fields("account", {"name": "B"}, {"name": [5, 5, 1]}, {"name": "A"}, (5, 5, 1), System.CRM)
    assert merge.is_noop and merge.stale == ("name",)
    older = merge_fields("account", {"name": "B"}, {"name": [5, 5, 1]}, {"name": "A"}, (4, 9, 9), System.CRM)
    assert older.is_noop


def test_a_field_from_a_system_that_does_not_own_it_is_not_applied():
    merge = merge_fields("account", {"name": "A"}, {}, {"name": "Billing's name"}, (9, 9, 9), System.BILLING)
    assert merge.is_noop and merge.not_owned == ("name",)


def test_a_newer_equal_value_records_nothing():
    merge = merge_fields("account", {"name": "A"}, {"name": [1, 1, 1]}, {"name": "A"}, (2, 1, 1), System.CRM)
    assert merge.is_noop and merge.unchanged == ("name",)


@given(st.text(min_size=1, max_size=12, alphabet="0123456789"), st.text(min_size=1, max_size=12, alphabet="0123456789"))
def test_numeric_billing_versions_order_as_numbers(a, b):
    assert object_is_newer(a, b) == (int(a) > int(b))


def test_linking_an_id_that_belongs_to_another_entity_is_refused():
    correlation = Correlation(entity="account", crm_id="001A")
    correlation.link("billing", "ba_1", "c")
    assert correlation.link("billing", "ba_1", "c") is False
    with pytest.raises(IdAlreadyLinked):
        correlation.link("billing", "ba_2", "c")


@pytest.mark.parametrize(("field", "value"), [
    ("email", "not-an-email"), ("currency", "EURO"), ("bill_to.country", "UK"), ("bill_to.city", "x" * 41),
    ("name", ""), ("phone", 12345),
])
def test_invalid_account_values_name_the_field(field, value):
    values = {"name": "Acme", "currency": "EUR", field: value}
    with pytest.raises(ValidationError) as info:
        validate_account_fields(values, partial=False)
    assert info.value.field == field


@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=0, max_value=10**12))
def test_money_round_trips_exactly_through_minor_units(currency, units):
    money = Money.from_minor_units(units, currency)
    assert money.to_minor_units() == units
    assert Money.from_dict(money.to_dict()) == money


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_money_keeps_decimal_exactly(amount):
    assert Money.from_dict(Money(amount, "EUR").to_dict()).amount == amount


def test_money_refuses_floats_and_amounts_finer_than_the_minor_unit():
    with pytest.raises(ValidationError, match="float"):
        Money(1.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="decimals"):
        Money(Decimal("1.001"), "EUR").to_minor_units()
    assert minor_unit_exponent("JPY") == 0 and Money(Decimal("100"), "JPY").to_minor_units() == 100
