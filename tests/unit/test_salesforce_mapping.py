"""Property tests of the Salesforce anti-corruption layer (adapters/crm/salesforce/mapping).

The sandbox's schema (infrastructure/sandboxes/salesforce/schema.py) stands for the org: its field
lengths are what Salesforce would refuse with STRING_TOO_LONG.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.crm.salesforce.mapping import (
    account_from_sf,
    account_to_sf,
    line_to_sf,
    order_from_sf,
    order_to_sf,
    price_to_sf,
    product_from_sf,
    product_to_sf,
    status_to_sf,
)
from application.ports import SyncStatus
from domain.canonical import OrderLine, OrderSnapshot, PriceSpec, ProductSnapshot, validate_account_fields
from domain.errors import ValidationError
from domain.iso import COUNTRIES, CURRENCIES
from domain.values import MAX_LEN, BillingPeriod, Money, minor_unit_exponent
from infrastructure.sandboxes.salesforce.schema import SCHEMAS

FAST = settings(max_examples=40, deadline=None)

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)


def over_the_wire(body: dict[str, Any]) -> dict[str, Any]:
    """What Salesforce would read back: JSON out, JSON in with numbers as Decimal (as the client parses)."""
    return json.loads(json.dumps(body), parse_float=Decimal)


def words(max_size: int) -> st.SearchStrategy[str]:
    """Mostly short text, sometimes exactly at the limit (where truncation bugs live)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzÀÉüß 0123456789-'"
    short = st.text(alphabet=alphabet, min_size=1, max_size=min(max_size, 24))
    full = st.text(alphabet=alphabet.replace(" ", ""), min_size=max_size, max_size=max_size)
    return st.one_of(short, full).filter(lambda s: s.strip())


emails = st.builds(lambda local, domain: f"{local}@{domain}.example",
                   st.text(alphabet="abcdefghij.0123456789", min_size=1, max_size=20).filter(
                       lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s),
                   st.text(alphabet="abcdefghij", min_size=1, max_size=20))


# Built once: strategies made inside a draw are re-validated on every example (slow).
OPTIONAL_ACCOUNT_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "email": emails, "phone": words(MAX_LEN["phone"]), "payment_terms": words(100), "tax_id": words(64),
    "status": st.sampled_from(["active", "inactive", "closed"]),
    **{f"{side}.{part}": strategy for side in ("bill_to", "sold_to") for part, strategy in (
        ("street", words(255)), ("city", words(40)), ("state", words(40)), ("postal_code", words(20)),
        ("country", st.sampled_from(sorted(COUNTRIES))))},
}
NAMES, CURRENCY_CODES = words(255), st.sampled_from(sorted(CURRENCIES))


@st.composite
def account_fields(draw: st.DrawFn) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": draw(NAMES), "currency": draw(CURRENCY_CODES)}
    chosen = draw(st.sets(st.sampled_from(sorted(OPTIONAL_ACCOUNT_FIELDS))))
    for name in sorted(chosen):
        fields[name] = draw(OPTIONAL_ACCOUNT_FIELDS[name])
    return fields


@st.composite
def moneys(draw: st.DrawFn, currency: str | None = None) -> Money:
    code = currency or draw(CURRENCY_CODES)
    places = minor_unit_exponent(code)
    units = draw(st.integers(min_value=0, max_value=10**12))
    return Money(Decimal(units).scaleb(-places), code)


def fits_salesforce(sobject: str, body: dict[str, Any]) -> None:
    for name, value in body.items():
        spec = SCHEMAS[sobject][name]
        assert not spec.readonly, name
        if isinstance(value, str) and spec.length:
            assert len(value) <= spec.length, (name, len(value))


# -- accounts --------------------------------------------------------------------------------------

@FAST
@given(account_fields())
def test_an_account_round_trips_through_salesforce(fields):
    body = account_to_sf(fields)
    assert account_to_sf(fields) == body  # deterministic
    record = {**over_the_wire(body), "Id": "0015g0000000001AAA", "LastModifiedDate": "2026-01-15T10:29:59.000+0000"}
    expected = {k: v for k, v in validate_account_fields(fields, partial=True).items() if v is not None}
    account = account_from_sf(record)
    assert dict(account.fields) == expected
    assert account.modified_at == "2026-01-15T10:29:59.000+00:00"


@FAST
@given(account_fields())
def test_account_values_sent_to_salesforce_fit_its_fields(fields):
    fits_salesforce("Account", account_to_sf(fields))


@FAST
@given(st.dictionaries(st.sampled_from(["name", "email", "phone", "currency", "status", "bill_to.city",
                                        "bill_to.country", "tax_id", "nonsense"]),
                       st.one_of(st.none(), TEXT, st.integers(), st.floats(allow_nan=True)), max_size=6))
def test_bad_account_input_is_refused_naming_the_field_never_crashing(fields):
    try:
        body = account_to_sf(fields)
    except ValidationError as error:
        assert error.field in fields
    else:
        fits_salesforce("Account", {k: v for k, v in body.items()})


@FAST
@given(st.dictionaries(st.sampled_from(["Id", "Name", "Billing_Email__c", "CurrencyIsoCode", "Account_Status__c",
                                        "BillingCountry", "BillingCountryCode", "BillingCity", "LastModifiedDate",
                                        "Phone"]),
                       st.one_of(st.none(), TEXT, st.integers(), st.booleans(), st.lists(st.integers(), max_size=2)),
                       max_size=8))
def test_any_account_record_maps_or_raises_validation_error(record):
    try:
        account_from_sf(record)
    except ValidationError as error:
        assert error.field


def test_a_country_name_instead_of_a_code_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        account_from_sf({"Id": "0015g0000000001AAA", "Name": "A", "BillingCountry": "United States"})
    assert caught.value.field == "bill_to.country"


def test_the_iso_code_of_a_country_picklist_wins_over_its_label():
    account = account_from_sf({"Id": "0015g0000000001AAA", "Name": "A", "BillingCountry": "France",
                               "BillingCountryCode": "FR"})
    assert account.fields["bill_to.country"] == "FR"


# -- money, products, prices -------------------------------------------------------------------------

@FAST
@given(moneys(), st.sampled_from(list(BillingPeriod)))
def test_a_price_round_trips_exactly(money, period):
    body = over_the_wire({**price_to_sf(PriceSpec(money, period)), "Id": "01u5g0000000001AAA"})
    (price,) = product_from_sf({"Id": "01t5g0000000001AAA", "Name": "P", "ProductCode": "S"}, [body]).prices
    assert price == PriceSpec(money, period)
    assert price.amount.amount == money.amount  # equal as numbers: JSON keeps no trailing zeros


@FAST
@given(st.sampled_from(sorted(CURRENCIES)), st.integers(min_value=1, max_value=10**6))
def test_an_amount_finer_than_the_currency_allows_is_refused(currency, units):
    amount = Decimal(units).scaleb(-(minor_unit_exponent(currency) + 1))
    if amount == amount.quantize(Decimal(1).scaleb(-minor_unit_exponent(currency))):
        return
    with pytest.raises(ValidationError):
        price_to_sf(PriceSpec(Money(amount, currency), BillingPeriod.MONTH))


SKUS, DESCRIPTIONS = words(100), st.one_of(st.none(), words(2000).map(str.strip))


@st.composite
def products(draw: st.DrawFn) -> ProductSnapshot:
    keys = draw(st.lists(st.tuples(st.sampled_from(["EUR", "USD", "JPY", "KWD"]), st.sampled_from(list(BillingPeriod))),
                         unique=True, max_size=4))
    start = draw(st.one_of(st.none(), st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1))))
    return ProductSnapshot(crm_id="01t5g0000000001AAA", sku=draw(SKUS).strip(), name=draw(NAMES).strip(),
                           description=draw(DESCRIPTIONS), active=draw(st.booleans()),
                           effective_from=start, effective_to=start, modified_at="2026-01-15T10:29:59.000+00:00",
                           prices=tuple(sorted((PriceSpec(draw(moneys(currency)), period) for currency, period in keys),
                                               key=lambda p: p.key)))


@FAST
@given(products())
def test_a_product_round_trips_with_its_prices(product):
    body = over_the_wire(product_to_sf(product))
    fits_salesforce("Product2", body)
    entries = [over_the_wire({**price_to_sf(p), "Id": f"01u5g00000000{n:02d}AAA"})
               for n, p in enumerate(product.prices)]
    for entry in entries:
        fits_salesforce("PricebookEntry", {k: v for k, v in entry.items() if k != "Id"})
    back = product_from_sf({**body, "Id": product.crm_id, "LastModifiedDate": "2026-01-15T10:29:59.000+0000"},
                           entries)
    assert back == product


def test_two_active_prices_for_one_key_must_agree():
    entries = [{"Id": "a", "UnitPrice": 10, "CurrencyIsoCode": "EUR", "IsActive": True},
               {"Id": "b", "UnitPrice": 11, "CurrencyIsoCode": "EUR", "IsActive": True}]
    with pytest.raises(ValidationError) as caught:
        product_from_sf({"Id": "01t5g0000000001AAA", "Name": "P", "ProductCode": "S"}, entries)
    assert caught.value.field == "prices"


# -- orders --------------------------------------------------------------------------------------------

@st.composite
def orders(draw: st.DrawFn) -> OrderSnapshot:
    currency = draw(st.sampled_from(["EUR", "USD", "JPY", "BHD"]))
    count = draw(st.integers(min_value=1, max_value=4))
    lines = tuple(OrderLine(f"8025g00000000{n:02d}AAA", draw(SKUS).strip(),
                            draw(st.integers(min_value=1, max_value=10**6)), draw(moneys(currency)),
                            draw(st.sampled_from(list(BillingPeriod)))) for n in range(count))
    return OrderSnapshot(crm_id="8015g0000000001AAA", account_crm_id="0015g0000000001AAA",
                         status=draw(st.sampled_from(["draft", "activated"])),
                         effective_date=draw(st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1))),
                         term_months=draw(st.integers(min_value=1, max_value=120)), currency=currency, lines=lines,
                         modified_at="2026-01-15T10:29:59.000+00:00")


@FAST
@given(orders())
def test_an_order_round_trips_with_its_lines(order):
    record = {**over_the_wire(order_to_sf(order)), "Id": order.crm_id,
              "LastModifiedDate": "2026-01-15T10:29:59.000+0000"}
    fits_salesforce("Order", {k: v for k, v in record.items() if k not in ("Id", "LastModifiedDate")})
    items = [{**over_the_wire(line_to_sf(line)), "Id": line.line_id, "Product2": {"ProductCode": line.sku},
              "LastModifiedDate": "2026-01-15T10:29:58.000+0000"} for line in order.lines]
    assert order_from_sf(record, items) == order


def test_a_fractional_quantity_is_refused_naming_the_line():
    record = {"Id": "8015g0000000001AAA", "AccountId": "001", "Status": "Draft", "EffectiveDate": "2026-01-01",
              "Term_Months__c": 12, "CurrencyIsoCode": "EUR"}
    item = {"Id": "802x", "Quantity": Decimal("1.5"), "UnitPrice": 3, "Product2": {"ProductCode": "S"}}
    with pytest.raises(ValidationError) as caught:
        order_from_sf(record, [item])
    assert caught.value.field == "lines[802x].quantity"


def test_the_term_falls_back_to_the_end_date():
    record = {"Id": "8015g0000000001AAA", "AccountId": "001", "Status": "Activated", "EffectiveDate": "2026-01-01",
              "EndDate": "2026-12-31", "CurrencyIsoCode": "EUR"}
    item = {"Id": "802x", "Quantity": 1, "UnitPrice": 3, "Product2": {"ProductCode": "S"}}
    assert order_from_sf(record, [item]).term_months == 12


# -- status write-back -------------------------------------------------------------------------------

@FAST
@given(st.sampled_from(["synced", "pending", "failed"]), TEXT.map(lambda s: s * 10), st.text(max_size=64),
       st.sampled_from(["account", "order", "product"]))
def test_status_write_back_fits_the_crm_fields(state, message, correlation, entity):
    ids = {"billing_account_number": "A-0001", "subscription_status": "active", "unknown": "x"}
    body = status_to_sf(entity, SyncStatus(state, message, correlation, ids, datetime(2026, 1, 2, tzinfo=UTC)))
    fits_salesforce({"account": "Account", "order": "Order", "product": "Product2"}[entity], body)
    assert body["Concord_Sync_Status__c"] == state.title()
    assert body["Concord_Last_Sync__c"] == "2026-01-02T00:00:00.000Z"
    assert ("Billing_Account_Number__c" in body) == (entity == "account")
    assert (body.get("Subscription_Status__c") == "Active") == (entity == "order")


@pytest.mark.parametrize(("status", "entity", "field"), [
    (SyncStatus("done"), "account", "state"),
    (SyncStatus("synced", correlation_id="c" * 65), "account", "correlation_id"),
    (SyncStatus("synced", billing_ids={"billing_account_number": "n" * 51}), "account",
     "billing_ids.billing_account_number"),
    (SyncStatus("synced", billing_ids={"subscription_status": "paused"}), "order", "billing_ids.subscription_status"),
    (SyncStatus("synced"), "invoice", "entity"),
])
def test_write_back_refuses_what_salesforce_cannot_hold_naming_the_field(status, entity, field):
    with pytest.raises(ValidationError) as caught:
        status_to_sf(entity, status)
    assert caught.value.field == field
