"""Properties of the Stripe anti-corruption layer (adapters/billing/stripe/mapping, form).

"What Stripe holds" is simulated from the documented semantics, independent of the mapping: the form
body is decoded with the sandbox's bracket decoder, an update replaces nested hashes whole, "" unsets a
field and metadata merges (a "" value deletes its key).
"""

from __future__ import annotations

import string
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from adapters.billing.stripe import mapping
from adapters.billing.stripe.form import encode
from adapters.billing.stripe.mapping.common import date_to_epoch, epoch_to_date
from application.errors import PermanentError
from domain.canonical import (
    ACCOUNT_FIELDS,
    ACCOUNT_STATUSES,
    SUBSCRIPTION_STATUSES,
    PriceSpec,
    ProductSnapshot,
    SubscriptionItem,
    SubscriptionRequest,
)
from domain.errors import ValidationError
from domain.iso import COUNTRIES, CURRENCIES
from domain.values import BillingPeriod, Money, minor_unit_exponent
from infrastructure.sandboxes.stripe.forms import decode

# Bounded examples and no per-example deadline: these run beside other suites on shared CPUs.
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def text(max_size: int, min_size: int = 1) -> st.SearchStrategy[str]:
    chars = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x00")
    return st.text(chars, min_size=min_size, max_size=max_size).map(str.strip).filter(bool)


emails = st.from_regex(r"[a-z0-9.+]{1,20}@[a-z0-9]{1,12}\.[a-z]{2,6}", fullmatch=True).filter(
    lambda e: not e.startswith(".") and ".." not in e)
currencies = st.sampled_from(sorted(CURRENCIES))


def address(prefix: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={f"{prefix}.street": text(255), f"{prefix}.city": text(40),
                                               f"{prefix}.state": text(40), f"{prefix}.postal_code": text(20),
                                               f"{prefix}.country": st.sampled_from(sorted(COUNTRIES))})


accounts = st.builds(
    lambda required, optional, bill, sold: {**required, **optional, **bill, **sold},
    st.fixed_dictionaries({"name": text(255), "currency": currencies}),
    st.fixed_dictionaries({}, optional={"email": emails, "phone": text(20), "payment_terms": text(100),
                                        "tax_id": text(64), "status": st.sampled_from(sorted(ACCOUNT_STATUSES))}),
    address("bill_to"), address("sold_to"))


def stripe_holds(params: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """The object after Stripe applies `params` (a create when `current` is None)."""
    held = dict(current or {"id": "cus_test", "object": "customer", "metadata": {}})
    for key, value in decode(urlencode(encode(params))).items():
        if key == "metadata":
            meta = dict(held.get("metadata") or {})
            for meta_key, meta_value in (value or {}).items():
                if meta_value == "":
                    meta.pop(meta_key, None)
                else:
                    meta[meta_key] = meta_value
            held["metadata"] = meta
        else:
            held[key] = None if value == "" else value
    return held


# -- form encoding -----------------------------------------------------------------------------------
keys = st.text(string.ascii_letters + "_", min_size=1, max_size=8)
leaves = st.one_of(text(20), st.integers(-10**6, 10**6).map(str))
nested = st.recursive(leaves, lambda inner: st.one_of(st.dictionaries(keys, inner, min_size=1, max_size=3),
                                                      st.lists(inner, min_size=1, max_size=3)), max_leaves=8)


@PROPERTY
@given(st.dictionaries(keys, nested, max_size=4))
def test_bracket_encoding_decodes_to_the_same_structure(params: dict[str, Any]) -> None:
    assume(not any(isinstance(v, dict) and all(k.isdigit() for k in v) for v in params.values()))
    assert decode(urlencode(encode(params))) == params


def test_booleans_are_lower_case_and_none_is_not_sent() -> None:
    assert encode({"active": False, "x": None, "items": [{"price": "p", "quantity": 2}]}) == [
        ("active", "false"), ("items[0][price]", "p"), ("items[0][quantity]", "2")]


# -- accounts ----------------------------------------------------------------------------------------
@PROPERTY
@given(accounts, text(18))
def test_an_account_round_trips_through_a_stripe_customer(fields: dict[str, Any], crm_id: str) -> None:
    customer = stripe_holds(mapping.customer_create_params(crm_id, fields))
    account = mapping.customer_to_account(customer)
    expected = {key: value.upper() if key in ("currency",) or key.endswith("country") else value
                for key, value in fields.items()}
    assert account.fields == expected and account.crm_id == crm_id


@PROPERTY
@given(accounts, st.dictionaries(st.sampled_from(sorted(set(ACCOUNT_FIELDS) - {"name", "currency"})),
                                 st.none(), max_size=4), accounts)
def test_an_update_applies_only_the_given_fields(before: dict[str, Any], cleared: dict[str, Any],
                                                 after: dict[str, Any]) -> None:
    changes = {**{k: v for k, v in after.items() if k in ("name", "phone", "bill_to.city", "sold_to.street")},
               **cleared}
    current = stripe_holds(mapping.customer_create_params("001", before))
    updated = stripe_holds(mapping.customer_update_params(current, changes), current)
    expected = {**mapping.customer_fields(current), **changes}
    assert mapping.customer_fields(updated) == {k: v for k, v in expected.items() if v is not None}


@PROPERTY
@given(accounts, text(500))
def test_customer_params_respect_stripes_limits(fields: dict[str, Any], crm_id: str) -> None:
    params = mapping.customer_create_params(crm_id, fields)
    assert len(params["name"]) <= 256 and len(params.get("phone") or "") <= 20
    assert len(params.get("email") or "") <= 512
    meta = {k: v for k, v in params["metadata"].items() if v is not None}
    assert len(meta) <= 50 and all(len(k) <= 40 and len(v) <= 500 for k, v in meta.items())


@PROPERTY
@given(text(40, min_size=21).filter(lambda phone: len(phone) > 20))
def test_a_phone_longer_than_stripe_allows_is_refused_naming_the_field(phone: str) -> None:
    with pytest.raises(ValidationError) as caught:
        mapping.customer_create_params("001", {"name": "Acme", "currency": "EUR", "phone": phone})
    assert caught.value.field == "phone"


@PROPERTY
@given(st.dictionaries(st.sampled_from([*ACCOUNT_FIELDS, "bogus"]),
                       st.one_of(st.none(), st.text(max_size=300), st.integers(), st.booleans()), max_size=6))
def test_invalid_account_input_raises_a_validation_error_naming_a_field(fields: dict[str, Any]) -> None:
    try:
        mapping.customer_create_params("001", fields)
    except ValidationError as exc:
        assert exc.field in (*ACCOUNT_FIELDS, "bogus", "name", "currency")


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
                           lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                   st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=10)


@PROPERTY
@given(st.dictionaries(st.sampled_from(["id", "name", "email", "phone", "address", "shipping", "metadata",
                                        "balance", "currency", "delinquent"]), json_values))
def test_a_customer_of_any_shape_maps_or_raises_a_named_error(customer: dict[str, Any]) -> None:
    try:
        mapping.customer_to_account(customer)
    except PermanentError as exc:
        assert exc.field
    except ValidationError as exc:
        assert exc.field


def test_delinquency_and_balance_are_billing_facts_on_the_account() -> None:
    customer = stripe_holds(mapping.customer_create_params("001", {"name": "A", "currency": "JPY"}))
    account = mapping.customer_to_account({**customer, "delinquent": True, "balance": -500})
    assert account.payment_state == "failed" and account.balance == Decimal(-500)
    assert mapping.customer_to_account({**customer, "balance": 1234}).payment_state == "current"


# -- catalog -----------------------------------------------------------------------------------------
def amounts() -> st.SearchStrategy[Money]:
    def build(currency: str, units: int, extra: int) -> Money:
        return Money(Decimal(units).scaleb(-(minor_unit_exponent(currency) + extra)), currency)

    return st.builds(build, currencies, st.integers(0, 10**10), st.integers(0, 12))


@PROPERTY
@given(amounts(), st.sampled_from(list(BillingPeriod)))
def test_a_price_round_trips_exactly(amount: Money, period: BillingPeriod) -> None:
    spec = PriceSpec(amount, period)
    params = mapping.price_params("prod_1", spec)
    assert params["currency"] == amount.currency.lower()
    price = decode(urlencode(encode(params)))
    price["recurring"]["interval_count"] = int(price["recurring"]["interval_count"])
    if "unit_amount" in price:  # Stripe answers both fields; unit_amount is null for a fractional decimal
        price["unit_amount"], price["unit_amount_decimal"] = int(price["unit_amount"]), price["unit_amount"]
    assert mapping.price_to_spec(price) == spec


@PROPERTY
@given(amounts())
def test_whole_minor_units_go_to_unit_amount(amount: Money) -> None:
    whole = amount.quantize()
    assert mapping.price_params("p", PriceSpec(whole, BillingPeriod.MONTH))["unit_amount"] == whole.to_minor_units()


def test_a_quarter_is_three_months_and_finer_than_12_decimals_is_refused() -> None:
    spec = PriceSpec(Money(Decimal("10"), "EUR"), BillingPeriod.QUARTER)
    assert mapping.price_params("p", spec)["recurring"] == {"interval": "month", "interval_count": 3}
    with pytest.raises(ValidationError) as caught:
        mapping.price_params("p", PriceSpec(Money(Decimal("1E-15"), "EUR"), BillingPeriod.MONTH))
    assert caught.value.field == "amount"
    with pytest.raises(PermanentError):
        mapping.price_to_spec({"currency": "eur", "unit_amount": 1, "recurring": {"interval": "week",
                                                                                "interval_count": 1}})


skus = text(100)
products = st.builds(ProductSnapshot, crm_id=text(18), sku=skus, name=text(255),
                     description=st.one_of(st.none(), text(2000)), active=st.booleans(),
                     effective_from=st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2040, 1, 1))),
                     effective_to=st.none())


@PROPERTY
@given(products)
def test_a_product_round_trips_through_a_stripe_product(product: ProductSnapshot) -> None:
    held = decode(urlencode(encode(mapping.product_params(product, create=True))))
    held["active"] = held["active"] == "true"
    assert held["id"] == mapping.product_id_for(product.sku)
    assert mapping.product_from_stripe(held) == ProductSnapshot(
        product.crm_id, product.sku, product.name, product.description, product.active, product.effective_from)


@PROPERTY
@given(skus, skus)
def test_product_ids_are_deterministic_distinct_and_url_safe(first: str, second: str) -> None:
    assert mapping.product_id_for(first) == mapping.product_id_for(first)
    assert (mapping.product_id_for(first) == mapping.product_id_for(second)) == (first == second)
    assert set(mapping.product_id_for(first)) <= set(string.ascii_letters + string.digits + "_-")


# -- subscriptions -----------------------------------------------------------------------------------
items = st.lists(st.builds(lambda n, q: SubscriptionItem(f"SKU-{n}", f"price_{n}", f"prod_{n}", q),
                           st.integers(0, 50), st.integers(1, 10_000)),
                 min_size=1, max_size=5, unique_by=lambda item: item.sku)


def request_with(line_items: list[SubscriptionItem]) -> SubscriptionRequest:
    return SubscriptionRequest("801A", "cus_1", "EUR", date(2026, 1, 1), 12, tuple(line_items))


def stripe_subscription(params: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Stripe applying create or update params: items matched by id, added, or deleted."""
    sent = decode(urlencode(encode(params)))
    sub = current or {"id": "sub_1", "object": "subscription", "status": "active", "customer": sent["customer"],
                      "metadata": {}, "items": {"data": []}, "cancel_at": None, "cancel_at_period_end": False,
                      "pause_collection": None}
    data = {item["id"]: item for item in sub["items"]["data"]}
    for index, change in enumerate(sent["items"]):
        if change.get("deleted") == "true":
            del data[change["id"]]
            continue
        item = data.setdefault(change.get("id", f"si_new{len(data)}_{index}"),
                               {"id": change.get("id", f"si_new{len(data)}_{index}"), "metadata": {}})
        if "price" in change:  # Stripe keeps an item's price when an update names none
            item["price"] = {"id": change["price"], "product": change["price"].replace("price_", "prod_")}
        item["quantity"] = int(change["quantity"])
        item["metadata"].update(change.get("metadata", {}))
    return {**sub, "metadata": {**sub["metadata"], **sent["metadata"]}, "items": {"data": list(data.values())}}


@PROPERTY
@given(items)
def test_a_subscription_request_round_trips(line_items: list[SubscriptionItem]) -> None:
    request = request_with(line_items)
    params = mapping.subscription_create_params(request)
    assert params["collection_method"] == "send_invoice" and params["currency"] == "eur"
    canonical = mapping.subscription_to_canonical(stripe_subscription(params))
    assert canonical.items == request.items and canonical.order_crm_id == "801A"
    assert canonical.account_billing_id == "cus_1" and canonical.status == "active"


@PROPERTY
@given(items, items)
def test_an_amendment_leaves_stripe_holding_exactly_the_requested_items(before: list[SubscriptionItem],
                                                                        after: list[SubscriptionItem]) -> None:
    current = stripe_subscription(mapping.subscription_create_params(request_with(before)))
    amended = stripe_subscription(mapping.subscription_amend_params(current, request_with(after)), current)
    held = mapping.subscription_to_canonical(amended).items
    assert sorted(held, key=lambda i: i.sku) == sorted(after, key=lambda i: i.sku)


def test_an_amendment_of_a_kept_price_sends_only_the_quantity() -> None:
    """A retired price stays on existing subscriptions; naming it in an update would be refused."""
    before = [SubscriptionItem("SKU-0", "price_0", "prod_0", 1)]
    current = stripe_subscription(mapping.subscription_create_params(request_with(before)))
    params = mapping.subscription_amend_params(current, request_with([SubscriptionItem("SKU-0", "price_0",
                                                                                       "prod_0", 4)]))
    assert [set(change) for change in params["items"]] == [{"id", "quantity"}]


@pytest.mark.parametrize("item, field", [(SubscriptionItem("S", "price_1", None, 0), "items[0].quantity"),
                                         (SubscriptionItem("S", "", None, 1), "items[0].price_id"),
                                         (SubscriptionItem("", "price_1", None, 1), "items[0].sku")])
def test_an_invalid_item_is_refused_naming_it(item: SubscriptionItem, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        mapping.subscription_create_params(request_with([item]))
    assert caught.value.field == field


def test_two_items_with_one_price_are_refused() -> None:
    twice = [SubscriptionItem("A", "price_1", None, 1), SubscriptionItem("B", "price_1", None, 1)]
    with pytest.raises(ValidationError):
        mapping.subscription_create_params(request_with(twice))


STRIPE_STATUSES = ["active", "trialing", "past_due", "unpaid", "paused", "incomplete", "canceled",
                   "incomplete_expired"]


@pytest.mark.parametrize("status, paused, scheduled, expected", [
    ("active", False, False, "active"), ("trialing", False, False, "active"), ("past_due", False, False, "active"),
    ("unpaid", False, False, "active"), ("incomplete", False, False, "pending"), ("paused", False, False,
                                                                                   "suspended"),
    ("active", True, False, "suspended"), ("past_due", True, False, "suspended"), ("active", True, True,
                                                                                   "cancelled"),
    ("active", False, True, "cancelled"), ("canceled", True, False, "cancelled"),
    ("incomplete_expired", False, False, "cancelled")])
def test_the_status_table(status: str, paused: bool, scheduled: bool, expected: str) -> None:
    sub = {"status": status, "pause_collection": {"behavior": "void"} if paused else None,
           "cancel_at": 1_900_000_000 if scheduled else None}
    assert mapping.canonical_status(sub) == expected


@PROPERTY
@given(st.sampled_from(STRIPE_STATUSES), st.booleans(), st.booleans(), st.booleans())
def test_every_stripe_state_maps_to_a_canonical_status(status: str, paused: bool, at: bool, end: bool) -> None:
    sub = {"status": status, "pause_collection": {"behavior": "void"} if paused else None,
           "cancel_at": 1_900_000_000 if at else None, "cancel_at_period_end": end}
    assert mapping.canonical_status(sub) in SUBSCRIPTION_STATUSES


def test_an_unknown_stripe_status_is_a_named_permanent_error() -> None:
    with pytest.raises(PermanentError) as caught:
        mapping.canonical_status({"status": "haunted"})
    assert caught.value.field == "subscription.status"


@PROPERTY
@given(st.dates(date(2000, 1, 1), date(2100, 1, 1)), st.dates(date(2000, 1, 1), date(2100, 1, 1)))
def test_cancel_now_at_period_end_or_on_the_date(effective: date, today: date) -> None:
    action, params = mapping.cancel_plan(effective, today, today + timedelta(days=30))
    if effective <= today:
        assert action == "delete"
    elif effective == today + timedelta(days=30):
        assert params == {"cancel_at_period_end": True}
    else:
        assert action == "update" and epoch_to_date(params["cancel_at"]) == effective
        assert params["cancel_at"] == date_to_epoch(effective)


def test_a_scheduled_or_ended_cancellation_carries_its_date() -> None:
    ended = {"id": "sub_1", "status": "canceled", "customer": "cus_1", "ended_at": date_to_epoch(date(2026, 3, 1)),
             "items": {"data": []}}
    assert mapping.subscription_to_canonical(ended).cancelled_on == date(2026, 3, 1)
    at_end = {**ended, "status": "active", "ended_at": None, "cancel_at_period_end": True,
              "current_period_end": date_to_epoch(date(2026, 4, 1))}
    assert mapping.subscription_to_canonical(at_end).cancelled_on == date(2026, 4, 1)
