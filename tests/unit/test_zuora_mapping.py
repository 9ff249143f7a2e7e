"""Properties of the Zuora anti-corruption layer (adapters/billing/zuora/mapping): round trips keep
what both sides hold, outputs stay within Zuora's field limits, bad input is a named ValidationError,
Money round-trips exactly."""

from __future__ import annotations

import json
import string
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from adapters.billing.zuora import mapping
from adapters.billing.zuora.countries import NAME_BY_ALPHA2, alpha2_of, country_name
from adapters.billing.zuora.mapping.common import LIMITS, json_price, utc_version
from adapters.billing.zuora.mapping.subscriptions import subscription_version
from domain.canonical import PriceSpec, ProductSnapshot, SubscriptionItem, SubscriptionRequest
from domain.errors import ValidationError
from domain.iso import COUNTRIES
from domain.values import MAX_LEN, BillingPeriod, Money

FAST = settings(max_examples=30, deadline=None)  # per test: a global profile would change others' suites

WORD = st.text(alphabet=string.ascii_letters + string.digits + " -'.éü", min_size=1, max_size=30).filter(str.strip)


def text(limit: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=string.ascii_letters + string.digits + " -,.", min_size=1, max_size=limit).filter(
        lambda t: t.strip() == t and t != "")


EMAIL = st.builds(lambda a, b: f"{a}@{b}.example", st.text(string.ascii_lowercase, min_size=1, max_size=20),
                  st.text(string.ascii_lowercase, min_size=1, max_size=20))
CURRENCY = st.sampled_from(["USD", "EUR", "GBP", "JPY", "KWD", "CHF"])
COUNTRY = st.sampled_from(sorted(COUNTRIES))


@st.composite
def account_fields(draw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": draw(text(MAX_LEN["name"])), "currency": draw(CURRENCY)}
    optional = {"email": EMAIL, "phone": text(MAX_LEN["phone"]), "payment_terms": text(100)}
    for prefix in ("bill_to", "sold_to"):
        optional.update({f"{prefix}.street": text(255), f"{prefix}.city": text(40), f"{prefix}.state": text(40),
                         f"{prefix}.postal_code": text(20), f"{prefix}.country": COUNTRY})
    for name, strategy in optional.items():
        if draw(st.booleans()):
            fields[name] = draw(strategy)
    return fields


def zuora_echo(payload: dict[str, Any], updated: str = "2026-11-22T02:00:00-08:00") -> dict[str, Any]:
    """What an object query answers for an account created with `payload` (zipCode -> postalCode)."""

    def contact(raw: dict[str, Any]) -> dict[str, Any]:
        out = {("postalCode" if k == "zipCode" else k): v for k, v in raw.items()}
        return out

    return {"id": "a" * 32, "accountNumber": "A00000001", "name": payload["name"], "crmId": payload["crmId"],
            "currency": payload["currency"], "paymentTerm": payload.get("paymentTerm"), "status": "Active",
            "balance": 0, "updatedDate": updated, "billTo": contact(payload["billToContact"]),
            "soldTo": contact(payload["soldToContact"])}


# -- accounts -----------------------------------------------------------------------------------
@FAST
@given(account_fields(), st.text(string.ascii_letters + string.digits, min_size=1, max_size=100))
def test_account_fields_round_trip_through_zuora(fields, crm_id):
    payload = mapping.account_create_payload(crm_id, fields)
    account = mapping.account_from_zuora(zuora_echo(payload))
    assert account.crm_id == crm_id
    for name, value in fields.items():
        assert account.fields[name] == value, name
    assert account.fields["status"] == "active" and account.payment_state == "current"


@FAST
@given(account_fields())
def test_account_payloads_respect_zuora_field_lengths(fields):
    payload = mapping.account_create_payload("001", fields)
    assert len(payload["name"]) <= LIMITS["accountName"]
    for role in ("billToContact", "soldToContact"):
        for key, value in payload[role].items():
            limit = LIMITS.get("postalCode" if key == "zipCode" else key)
            if limit is not None and value is not None:
                assert len(value) <= limit, (role, key)
        assert payload[role]["firstName"] and payload[role]["lastName"]
    assert payload["billCycleDay"] == 1 and payload["autoPay"] is False


@FAST
@given(st.text(min_size=0, max_size=400))
def test_contact_names_are_never_empty_nor_too_long(name):
    assume(name.strip())
    first, last = mapping.split_name(name)
    assert first.strip() and last.strip()
    assert len(first) <= 100 and len(last) <= 100


def test_a_crm_id_longer_than_zuora_holds_is_refused_not_cut():
    with pytest.raises(ValidationError) as error:
        mapping.account_create_payload("x" * 101, {"name": "Acme", "currency": "USD"})
    assert error.value.field == "crm_id"


@FAST
@given(st.dictionaries(st.text(max_size=20), st.one_of(st.none(), st.integers(), st.text(max_size=300),
                                                       st.floats(), st.lists(st.integers(), max_size=2))))
def test_bad_canonical_fields_are_named_validation_errors(fields):
    builds = (lambda: mapping.account_create_payload("001", fields), lambda: mapping.account_update_payload(fields))
    for build in builds:
        try:
            build()
        except ValidationError as error:
            assert error.field in set(fields) | {"name", "currency", "crm_id"}
        except (KeyError, TypeError, AttributeError) as error:  # pragma: no cover - the property
            pytest.fail(f"{type(error).__name__}: {error}")


JUNK = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3),
                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


@FAST
@given(st.dictionaries(st.sampled_from(["id", "accountNumber", "name", "crmId", "currency", "paymentTerm", "status",
                                        "balance", "updatedDate", "billTo", "soldTo"]), JUNK))
def test_a_malformed_zuora_account_is_a_named_error_never_a_crash(raw):
    try:
        mapping.account_from_zuora(raw)
    except ValidationError as error:
        assert error.field


def test_update_payload_carries_only_the_given_fields_and_never_the_currency():
    payload = mapping.account_update_payload({"bill_to.city": "Leeds", "currency": "EUR", "tax_id": "GB1"})
    assert payload == {"billToContact": {"city": "Leeds"}}


def test_a_positive_balance_is_a_failed_payment_state():
    raw = zuora_echo(mapping.account_create_payload("001", {"name": "A", "currency": "USD"}))
    assert mapping.account_from_zuora({**raw, "balance": Decimal("10.5")}).payment_state == "failed"


def test_every_country_code_survives_zuoras_country_names():
    for code in COUNTRIES:
        assert alpha2_of(country_name(code) or "") == code
    assert alpha2_of("USA") == "US" and len(NAME_BY_ALPHA2) == len(COUNTRIES)


@FAST
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
       st.integers(-12, 12), st.integers(-12, 12))
def test_account_versions_sort_in_time_order_whatever_the_tenant_zone(a, b, zone_a, zone_b):
    stamp_a = a.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=zone_a)))
    stamp_b = b.replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=zone_b)))
    version_a, version_b = utc_version("v", stamp_a.isoformat()), utc_version("v", stamp_b.isoformat())
    assert (version_a < version_b) == (stamp_a < stamp_b)


# -- catalog and money --------------------------------------------------------------------------
ANY_AMOUNT = st.builds(lambda units, exp: Decimal(units).scaleb(-exp), st.integers(0, 10**17), st.integers(0, 12))


@FAST
@given(ANY_AMOUNT, CURRENCY, st.sampled_from(list(BillingPeriod)))
def test_money_round_trips_exactly_or_is_refused(amount, currency, period):
    price = PriceSpec(Money(amount, currency), period)
    try:
        payload = mapping.charge_payload("p" * 32, price, "SKU-1")
    except ValidationError as error:
        assert error.field == "price.amount"
        return
    wire = json.loads(json.dumps(payload), parse_float=Decimal)  # what Zuora reads and answers
    tier = wire["ProductRatePlanChargeTierData"]["ProductRatePlanChargeTier"][0]
    plan = {"productRatePlanCharges": [{"id": "c1", "billingPeriod": payload["BillingPeriod"],
                                        "pricing": [{"currency": tier["Currency"], "price": tier["Price"]}]}]}
    assert mapping.plan_prices(plan) == [("c1", price)]


@FAST
@given(st.decimals(min_value=0, max_value=Decimal("9999999"), places=2, allow_nan=False, allow_infinity=False))
def test_ordinary_prices_are_always_accepted(amount):
    assert Decimal(repr(json_price("price", amount))) == amount


@FAST
@given(st.text(min_size=1, max_size=300).filter(str.strip), st.text(max_size=2000))
def test_product_payloads_respect_zuora_lengths(name, description):
    product = ProductSnapshot("01t1", "SKU-1", name.strip()[:255] or "x", description.strip() or None)
    payload = mapping.product_payload(product, date(2026, 11, 22))
    assert len(payload["Name"]) <= 100 and len(payload.get("Description", "")) <= 500
    assert payload["SKU"] == "SKU-1" and payload["EffectiveEndDate"] == "2099-12-31"


def test_a_sku_longer_than_zuora_holds_is_refused():
    with pytest.raises(ValidationError) as error:
        mapping.product_payload(ProductSnapshot("01t1", "S" * 51, "Widget"), date(2026, 11, 22))
    assert error.value.field == "sku"


def test_an_inactive_product_ends_today():
    payload = mapping.product_payload(ProductSnapshot("01t1", "S", "W", active=False), date(2026, 11, 22))
    assert payload["EffectiveEndDate"] == "2026-11-22"


def test_a_new_price_is_the_next_version_of_its_currency_and_period():
    eur = PriceSpec(Money(Decimal("1"), "EUR"), BillingPeriod.MONTH)
    charge = {"id": "c", "billingPeriod": "Month", "pricing": [{"currency": "EUR", "price": 1}]}
    product = {"productRatePlans": [{"id": "p1", "name": "EUR month v1", "productRatePlanCharges": [charge]},
                                    {"id": "p2", "name": "EUR month v2", "productRatePlanCharges": []}]}
    assert mapping.next_version(product, "EUR", BillingPeriod.MONTH) == 2
    assert mapping.next_version(product, "USD", BillingPeriod.MONTH) == 1
    assert mapping.orphan_plan(product, eur) == "p2"  # a plan left without its charge is reused


@FAST
@given(st.text(max_size=40))
def test_price_ids_split_or_are_named_errors(value):
    try:
        plan, charge = mapping.split_price_id(value)
    except ValidationError as error:
        assert error.field == "price_id"
    else:
        assert mapping.price_id(plan, charge) == value


# -- orders and subscriptions ---------------------------------------------------------------------
PRICE_IDS = st.lists(st.from_regex(r"[0-9a-f]{4}:[0-9a-f]{4}", fullmatch=True), min_size=1, max_size=5, unique=True)


def _items(price_ids: list[str], quantities: list[int]) -> tuple[SubscriptionItem, ...]:
    return tuple(SubscriptionItem("SKU", p, None, q) for p, q in zip(price_ids, quantities, strict=False))


def _subscription(items: tuple[SubscriptionItem, ...]) -> dict[str, Any]:
    plans = []
    for n, item in enumerate(items):
        plan_id, charge_id = item.price_id.split(":")
        plans.append({"id": f"rp{n}", "productRatePlanId": plan_id, "productSku": item.sku, "ratePlanCharges": [
            {"number": f"C-{n}", "productRatePlanChargeId": charge_id, "quantity": item.quantity}]})
    plans.append({"id": "gone", "productRatePlanId": "dead", "lastChangeType": "Remove",
                  "ratePlanCharges": [{"number": "C-x", "productRatePlanChargeId": "beef", "quantity": 9}]})
    return {"subscriptionNumber": "A-S00000001", "accountId": "acc", "accountNumber": "A00000001",
            "status": "Active", "version": 3, "CrmOrderId__c": "801x", "ratePlans": plans}


def _apply(subscription: dict[str, Any], actions: list[dict[str, Any]]) -> dict[str, int]:
    """A minimal Zuora: what the subscription's live items are after the actions."""
    live = {c.price_id: c.quantity for c in mapping.current_charges(subscription)}
    by_plan = {c.rate_plan_id: c.price_id for c in mapping.current_charges(subscription)}
    for action in actions:
        if action["type"] == "AddProduct":
            add = action["addProduct"]
            charge = add["chargeOverrides"][0]
            live[f"{add['productRatePlanId']}:{charge['productRatePlanChargeId']}"] = (
                charge["pricing"]["recurringPerUnit"]["quantity"])
        elif action["type"] == "UpdateProduct":
            update = action["updateProduct"]
            live[by_plan[update["ratePlanId"]]] = update["chargeUpdates"][0]["pricing"]["recurringPerUnit"]["quantity"]
        else:
            del live[by_plan[action["removeProduct"]["ratePlanId"]]]
    return live


@FAST
@given(PRICE_IDS, PRICE_IDS, st.lists(st.integers(1, 50), min_size=5, max_size=5),
       st.lists(st.integers(1, 50), min_size=5, max_size=5))
def test_an_amendment_turns_the_current_items_into_the_wanted_ones(current, wanted, q_now, q_want):
    now, want = _items(current, q_now), _items(wanted, q_want)
    actions = mapping.amend_actions(_subscription(now), want, date(2026, 12, 1))
    assert _apply(_subscription(now), actions) == {i.price_id: i.quantity for i in want}
    assert all(a["triggerDates"][0]["triggerDate"] == "2026-12-01" for a in actions)


@FAST
@given(PRICE_IDS, st.lists(st.integers(1, 50), min_size=5, max_size=5))
def test_amending_to_the_same_items_orders_nothing(price_ids, quantities):
    items = _items(price_ids, quantities)
    request = SubscriptionRequest("801x", "acc", "USD", date(2026, 12, 1), 12, items)
    assert mapping.amend_order(_subscription(items), request, "A00000001") is None


@FAST
@given(PRICE_IDS, st.lists(st.integers(1, 50), min_size=5, max_size=5), st.integers(1, 120))
def test_a_create_order_subscribes_every_item_with_its_quantity(price_ids, quantities, months):
    items = _items(price_ids, quantities)
    order = mapping.create_order(SubscriptionRequest("801x", "acc", "USD", date(2026, 12, 1), months, items),
                                 "A00000001")
    sub = order["subscriptions"][0]
    create = sub["orderActions"][0]["createSubscription"]
    assert sub["customFields"] == {"CrmOrderId__c": "801x"} and order["existingAccountNumber"] == "A00000001"
    assert create["terms"]["initialTerm"]["period"] == months
    overrides = [(e["productRatePlanId"], e["chargeOverrides"][0]) for e in create["subscribeToRatePlans"]]
    subscribed = {f"{plan}:{charge['productRatePlanChargeId']}": charge["pricing"]["recurringPerUnit"]["quantity"]
                  for plan, charge in overrides}
    assert subscribed == {i.price_id: i.quantity for i in items}
    assert order["processingOptions"] == {"runBilling": False, "collectPayment": False}


def test_items_are_checked_before_an_order_is_built():
    item = SubscriptionItem("S", "nocolon", None, 1)
    request = SubscriptionRequest("801x", "acc", "USD", date(2026, 12, 1), 12, (item,))
    with pytest.raises(ValidationError) as error:
        mapping.create_order(request, "A00000001")
    assert error.value.field == "price_id"


def test_cancel_suspend_resume_orders_name_their_policy_and_dates():
    cancel = mapping.cancel_order("A-S1", "A1", date(2026, 12, 31), date(2026, 11, 22))
    body = cancel["subscriptions"][0]["orderActions"][0]["cancelSubscription"]
    assert body == {"cancellationPolicy": "SpecificDate", "cancellationEffectiveDate": "2026-12-31"}
    suspend = mapping.suspend_order("A-S1", "A1", date(2026, 11, 22))["subscriptions"][0]["orderActions"][0]
    assert suspend["suspend"] == {"suspendPolicy": "SpecificDate", "suspendSpecificDate": "2026-11-22"}
    resume = mapping.resume_order("A-S1", "A1", date(2026, 11, 22))["subscriptions"][0]["orderActions"][0]
    assert resume["type"] == "Resume" and resume["resume"]["resumePolicy"] == "SpecificDate"


@FAST
@given(PRICE_IDS, st.lists(st.integers(1, 50), min_size=5, max_size=5),
       st.sampled_from(["Active", "Suspended", "Cancelled", "Expired", "Pending Activation"]))
def test_a_subscription_reads_back_its_live_items_and_status(price_ids, quantities, status):
    items = _items(price_ids, quantities)
    raw = {**_subscription(items), "status": status, "subscriptionEndDate": "2026-12-31"}
    parsed = mapping.subscription_from_zuora(raw)
    assert [(i.price_id, i.quantity) for i in parsed.items] == [(i.price_id, i.quantity) for i in items]
    assert parsed.status == {"Active": "active", "Suspended": "suspended", "Cancelled": "cancelled",
                             "Expired": "cancelled", "Pending Activation": "pending"}[status]
    assert parsed.billing_id == parsed.number == "A-S00000001" and parsed.order_crm_id == "801x"
    assert (parsed.cancelled_on == date(2026, 12, 31)) == (parsed.status == "cancelled")


@FAST
@given(st.integers(0, 10**8), st.integers(0, 10**8))
def test_subscription_versions_sort_as_their_numbers(a, b):
    assert (subscription_version({"version": a}) < subscription_version({"version": b})) == (a < b)


@FAST
@given(st.dictionaries(st.sampled_from(["subscriptionNumber", "status", "accountId", "version", "ratePlans",
                                        "CrmOrderId__c", "subscriptionEndDate"]), JUNK))
def test_a_malformed_subscription_is_a_named_error_never_a_crash(raw):
    try:
        mapping.subscription_from_zuora(raw)
    except ValidationError as error:
        assert error.field
