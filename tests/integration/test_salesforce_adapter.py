"""The Salesforce adapter (client, auth, gateway, relay) against the Salesforce sandbox over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal

import boto3
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.crm.salesforce.auth import SalesforceAuth
from adapters.crm.salesforce.cdc import parse_change
from adapters.crm.salesforce.client import SalesforceHttp
from adapters.crm.salesforce.gateway import SalesforceCrm
from adapters.crm.salesforce.relay import RelayPlan, format_steps, setup_relay
from adapters.outbound import FetchingTokens, RetryPolicy
from application.errors import CredentialsRevoked, NotFound, OutcomeUnknown, PermanentError, RetryableError
from application.ports import SyncStatus
from domain.sync import is_echo
from infrastructure.sandboxes.salesforce import PutEventsSink, SalesforceSandbox
from tests.support.salesforce import CLIENT_ID, CLIENT_SECRET, SalesforceSeed

KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
PUBLIC_PEM = KEY.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SalesforceSandbox]:
    server = SalesforceSandbox(CLIENT_ID, CLIENT_SECRET, page_size=3, daily_limit=10_000,
                               jwt_public_key_pem=PUBLIC_PEM)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as shared:
        yield shared


@pytest.fixture
def admin(sandbox: SalesforceSandbox, client: httpx.Client) -> httpx.Client:
    client.post(f"{sandbox.url}/__sandbox/reset")
    client.post(f"{sandbox.url}/__sandbox/faults", json={})
    return client


def make_crm(sandbox: SalesforceSandbox, client: httpx.Client,
             attempts: int = 3) -> tuple[SalesforceCrm, FetchingTokens]:
    auth = SalesforceAuth(sandbox.url, CLIENT_ID, client_secret=CLIENT_SECRET, client=client)
    tokens = FetchingTokens(auth.fetch_pair)
    http = SalesforceHttp(sandbox.url, tokens=tokens, client=client, sleep=lambda _s: None,
                          retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.001, max_delay_s=0.002))
    return SalesforceCrm(http), tokens


@pytest.fixture
def crm(sandbox: SalesforceSandbox, client: httpx.Client, admin: httpx.Client) -> SalesforceCrm:
    return make_crm(sandbox, client)[0]


@pytest.fixture
def seed(sandbox: SalesforceSandbox, admin: httpx.Client) -> SalesforceSeed:
    return SalesforceSeed(sandbox)


# -- sessions, quota, faults -----------------------------------------------------------------

def test_an_expired_session_is_refreshed_once_and_the_call_succeeds(sandbox, client, admin, seed):
    crm, tokens = make_crm(sandbox, client)
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    crm.get_account(account)
    admin.post(f"{sandbox.url}/__sandbox/expire-tokens")
    assert crm.get_account(account).fields["name"] == "Acme"
    assert tokens.fetches == 2


def test_a_token_rejected_again_after_a_refresh_is_retryable_not_a_loop(sandbox, client, admin, seed):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    crm, tokens = make_crm(sandbox, client)
    sandbox.token_lifetime_s = 0  # every new session is born expired
    try:
        with pytest.raises(RetryableError) as caught:
            crm.get_account(account)
    finally:
        sandbox.token_lifetime_s = 7200
    assert caught.value.code == "TOKEN_REJECTED" and tokens.fetches == 2


def test_the_daily_quota_is_throttling_not_an_auth_failure(sandbox, crm, admin):
    admin.post(f"{sandbox.url}/__sandbox/api-usage", json={"used": 10_000})
    with pytest.raises(RetryableError) as caught:
        crm.get_account("0015g0000000001AAA")
    assert caught.value.code == "REQUEST_LIMIT_EXCEEDED" and not isinstance(caught.value, CredentialsRevoked)
    assert crm.http.api_usage == (10_000, 10_000)


def test_api_usage_follows_the_limit_header(sandbox, crm, seed):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    crm.get_account(account)
    used, limit = crm.http.api_usage
    crm.get_account(account)
    assert crm.http.api_usage == (used + 1, limit) and limit == 10_000


def test_server_errors_are_retried_then_raised_as_retryable(sandbox, crm, admin):
    crm.http.tokens.token("salesforce")  # a session first: the fault hits the token endpoint too
    admin.post(f"{sandbox.url}/__sandbox/faults", json={"error_rate": 1.0})
    with pytest.raises(RetryableError) as caught:
        crm.get_account("0015g0000000001AAA")
    assert caught.value.code == "UNKNOWN_EXCEPTION"
    assert admin.get(f"{sandbox.url}/__sandbox/stats").json()["fault:5xx"] == 3


def test_a_dropped_connection_is_an_unknown_outcome(sandbox, crm, admin):
    crm.http.tokens.token("salesforce")
    admin.post(f"{sandbox.url}/__sandbox/faults", json={"drop_rate": 1.0})
    with pytest.raises(OutcomeUnknown):
        crm.write_status("account", "0015g0000000001AAA", SyncStatus("synced"), "k1")


# -- reads -------------------------------------------------------------------------------------

def test_an_unknown_id_is_not_found_and_a_malformed_one_never_reaches_salesforce(sandbox, crm, admin):
    with pytest.raises(NotFound):
        crm.get_account("0015g0000000099AAA")
    before = crm.http.requests_sent
    with pytest.raises(NotFound):
        crm.get_account("001' OR Name != '")
    assert crm.http.requests_sent == before


def test_a_record_concord_cannot_map_is_permanent_naming_the_field(sandbox, crm, seed):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    seed.http.patch(f"/services/data/v60.0/sobjects/Account/{account}", json={"BillingCountry": "Deutschland"})
    with pytest.raises(PermanentError) as caught:
        crm.get_account(account)
    assert caught.value.field == "bill_to.country"


def test_listing_follows_next_records_url_within_a_page_and_keysets_across_pages(sandbox, crm, seed):
    made = [seed.create_account({"name": f"Acme {n}", "currency": "EUR"}) for n in range(8)]
    first = crm.list_accounts(None, 5)  # the sandbox serves 3 rows a batch: one nextRecordsUrl hop
    second = crm.list_accounts(first.next_cursor, 5)
    assert [a.crm_id for a in first.items] + [a.crm_id for a in second.items] == made
    assert first.next_cursor is not None and second.next_cursor is None


def test_a_bad_cursor_is_permanent_naming_the_cursor(crm):
    with pytest.raises(PermanentError) as caught:
        crm.list_accounts("not-a-cursor", 5)
    assert caught.value.field == "cursor"


# -- writes ------------------------------------------------------------------------------------

def test_upsert_creates_then_updates_by_external_id(crm):
    record_id, created = crm.upsert_account("acct-1", {"name": "Acme", "currency": "EUR"})
    again, created_again = crm.upsert_account("acct-1", {"name": "Acme Ltd"})
    assert created and not created_again and again == record_id
    assert crm.get_account(record_id).fields["name"] == "Acme Ltd"


def test_upsert_on_an_api_before_46_reads_the_id_after_a_204(sandbox, client, admin):
    crm, _ = make_crm(sandbox, client)
    crm.http.api_version = "45.0"
    record_id, _ = crm.upsert("Account", "old-1", {"Name": "Acme"})
    again, created = crm.upsert("Account", "old-1", {"Name": "Acme 2"})
    assert again == record_id and created is False


def test_upsert_matching_several_records_is_permanent(crm, seed):
    for name in ("A", "B"):
        seed.http.post("/services/data/v60.0/sobjects/Account/", json={"Name": name, "Concord_Id__c": "dup"})
    with pytest.raises(PermanentError) as caught:
        crm.upsert("Account", "dup", {"Name": "C"})
    assert caught.value.code == "MULTIPLE_CHOICES"


def test_upsert_on_an_object_without_the_external_id_field_is_not_found(crm):
    with pytest.raises(NotFound):
        crm.upsert("Pricebook2", "x", {"Name": "Book"})


def test_collections_report_each_record_and_split_past_200(sandbox, crm):
    records = [{"Concord_Id__c": f"bulk-{n}", "Name": f"A{n}"} for n in range(201)]
    records[7] = {"Concord_Id__c": "bulk-7"}  # no Name
    before = crm.http.requests_sent
    results = crm.upsert_many("Account", records)
    assert crm.http.requests_sent - before == 2 and len(results) == 201
    assert results[7].success is False and isinstance(results[7].error, PermanentError)
    assert results[7].error.code == "REQUIRED_FIELD_MISSING" and results[7].error.field == "Name"
    assert all(r.success and r.created for n, r in enumerate(results) if n != 7)


def test_write_status_is_visible_and_its_cdc_echo_names_concord(sandbox, crm, seed, admin):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    crm.write_status("account", account, SyncStatus("synced", "ok", "corr-9", {"billing_account_number": "A-9"}),
                     "wb-1")
    seen = seed.read_status("account", account)
    assert seen["state"] == "synced" and seen["record"]["Billing_Account_Number__c"] == "A-9"
    user_change, echo = (parse_change(e) for e in admin.get(f"{sandbox.url}/__sandbox/events").json()["events"])
    assert is_echo(echo, "concord") and not is_echo(user_change, "concord")


# -- auth ----------------------------------------------------------------------------------------

def test_refused_client_credentials_are_revoked_credentials(sandbox, client, admin):
    with pytest.raises(CredentialsRevoked):
        SalesforceAuth(sandbox.url, CLIENT_ID, client_secret="wrong", client=client).fetch()


def test_a_throttled_token_endpoint_is_retryable(sandbox, client, admin):
    admin.post(f"{sandbox.url}/__sandbox/faults", json={"throttle_rate": 1.0})
    with pytest.raises(RetryableError):
        SalesforceAuth(sandbox.url, CLIENT_ID, client_secret=CLIENT_SECRET, client=client).fetch()


def test_the_jwt_bearer_flow_gets_a_working_session(sandbox, client, admin, seed):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    auth = SalesforceAuth(sandbox.url, CLIENT_ID, private_key_pem=PRIVATE_PEM, username="int@concord.example",
                          client=client)
    grant = auth.fetch()
    assert grant.instance_url == sandbox.url and grant.issued_at_ms > 10**12
    http = SalesforceHttp(sandbox.url, tokens=FetchingTokens(auth.fetch_pair), client=client)
    assert SalesforceCrm(http).get_account(account).fields["name"] == "Acme"


def test_the_sandbox_cli_builds_a_sandbox_with_its_faults():
    from infrastructure.sandboxes.salesforce.cli import build, build_parser

    args = build_parser().parse_args(["--port", "0", "--client-id", "c", "--client-secret", "s", "--token-lifetime",
                                      "60", "--error-rate", "0.5", "--drop-event-rate", "0.25", "--seed", "7"])
    sandbox = build(args)
    assert sandbox.token_lifetime_s == 60 and sandbox.client_id == "c"
    assert sandbox.faults.error_rate == 0.5 and sandbox.faults.drop_event_rate == 0.25 and sandbox.faults.seed == 7
    assert sandbox.emitter.sink is None  # no --aws-endpoint: events stay in the sandbox


# -- Event Relay setup and delivery to EventBridge (moto) ------------------------------------------

def test_setup_relay_is_idempotent_and_events_reach_the_partner_bus(sandbox, crm, seed, admin, moto_endpoint,
                                                                    moto_reset):
    events = boto3.client("events", endpoint_url=moto_endpoint, region_name="us-east-1")
    # moto 5.2 cuts bus names at "/" in PutRule, so a rule cannot sit on the real partner bus name there:
    # events go to a plain bus (what --partner-bus gives the local stack); the relay still creates the real one.
    events.create_event_bus(Name="salesforce-partner")
    sink = PutEventsSink(moto_endpoint, "salesforce-partner", "us-east-1")
    sandbox.emitter.sink, sandbox.relay_created_hook = sink, sink.create_partner_source
    try:
        plan = RelayPlan(aws_account="123456789012", aws_region="us-east-1")
        dry = setup_relay(crm.http, plan, events=events, dry_run=True)
        assert {s.status for s in dry} == {"would create", "would update"}
        first = setup_relay(crm.http, plan, events=events)
        assert [s.status for s in first].count("created") == len(first) - 1 and first[-1].status == "updated"
        second = setup_relay(crm.http, plan, events=events)
        assert {s.status for s in second} == {"exists"}, format_steps(second)
        source = next(s.name for s in first if s.name.startswith("EventBridge")).split()[-1]
        assert events.describe_event_bus(Name=source)["Name"] == source  # associated with the partner source
        sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
        queue = sqs.create_queue(QueueName="sf-relay")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = json.dumps({"source": [{"prefix": "aws.partner/salesforce.com"}]})
        events.put_rule(Name="sf", EventBusName="salesforce-partner", EventPattern=pattern)
        events.put_targets(Rule="sf", EventBusName="salesforce-partner", Targets=[{"Id": "q", "Arn": arn}])
        seed.create_account({"name": "Relayed", "currency": "EUR"})
        sandbox.emitter.flush()
        body = json.loads(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"])
        assert body["detail-type"] == "AccountChangeEvent" and body["source"] == source
        assert parse_change(body).fields["name"] == "Relayed"
    finally:
        sandbox.emitter.sink, sandbox.relay_created_hook = None, None


def test_parent_of_an_order_line_and_of_a_price_entry_is_read_from_the_record(crm, seed):
    account = seed.create_account({"name": "Parents Ltd", "currency": "EUR"})
    product = seed.create_product("SKU-PARENT", "Widget", [("EUR", "month", Decimal("10.00"))])
    order = seed.create_order(account, "EUR", [(product, "SKU-PARENT", 1, Decimal("10.00"))])
    [line] = crm.query(f"SELECT Id FROM OrderItem WHERE OrderId = '{order}'")
    [entry] = crm.query(f"SELECT Id FROM PricebookEntry WHERE Product2Id = '{product}'")
    assert crm.parent_id("order_line", line["Id"]) == order
    assert crm.parent_id("price", entry["Id"]) == product


# -- loads: changed_* by an inclusive (LastModifiedDate, Id) watermark ---------------------------

def _drain(list_page, limit):
    seen, cursor = [], None
    while True:
        page = list_page(None, cursor, limit)
        seen.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_a_second_shared_by_more_records_than_a_page_is_paged_through_once_each(sandbox, crm, seed):
    made = [seed.create_account({"name": f"Acme {n}", "currency": "EUR"}) for n in range(7)]
    assert len({crm.get_account(i).modified_at[:19] for i in made}) <= 2  # Salesforce stamps whole seconds
    seen = _drain(crm.changed_accounts, 2)
    assert [a.crm_id for a in seen] == sorted(made, key=lambda i: (crm.get_account(i).modified_at, i.casefold()))


def test_a_page_of_orders_costs_two_calls_and_follows_query_more_for_many_lines(sandbox, crm, seed):
    account = seed.create_account({"name": "Acme", "currency": "EUR"})
    sku = "SKU-LINES"
    product = seed.create_product(sku, "Widget", [("EUR", "month", Decimal("10.00"))])
    small = seed.create_order(account, "EUR", [(product, sku, 1, Decimal("10.00"))])
    large = seed.create_order(account, "EUR", [(product, sku, n, Decimal("10.00")) for n in range(1, 5)])
    before = crm.http.requests_sent
    first = crm.changed_orders(None, None, 1)
    assert crm.http.requests_sent - before == 2  # the orders (LIMIT 3: one batch), the lines of the page
    assert [o.crm_id for o in first.items] == [small] and first.next_cursor is not None
    before = crm.http.requests_sent
    second = crm.changed_orders(None, first.next_cursor, 1)
    # 4 lines in batches of 3: the lines query follows nextRecordsUrl once (queryMore)
    assert crm.http.requests_sent - before == 3
    assert [o.crm_id for o in second.items] == [large] and second.next_cursor is None
    assert sorted(line.quantity for line in second.items[0].lines) == [1, 2, 3, 4]


def test_count_is_one_count_query_and_usage_comes_from_the_header(sandbox, crm, seed):
    for n in range(4):
        seed.create_account({"name": f"Acme {n}", "currency": "EUR"})
    before = crm.http.requests_sent
    assert crm.count_changed("account", None) == 4
    assert crm.count_changed("account", "2999-01-01") == 0
    assert crm.http.requests_sent - before == 2
    usage = crm.api_usage()
    assert usage is not None and usage.limit == 10_000 and (usage.used, usage.limit) == crm.http.api_usage


def test_a_row_concord_cannot_map_is_named_and_the_page_goes_on(sandbox, crm, seed):
    good = seed.create_account({"name": "Good", "currency": "EUR"})
    bad = seed.create_account({"name": "Bad", "currency": "EUR"})
    seed.http.patch(f"/services/data/v60.0/sobjects/Account/{bad}", json={"BillingCountry": "Deutschland"})
    page = crm.changed_accounts(None, None, 10)
    assert [a.crm_id for a in page.items] == [good]
    assert [crm_id for crm_id, _ in page.invalid] == [bad] and "bill_to.country" in page.invalid[0][1]


def test_a_backfill_pauses_at_the_floor_the_limit_header_shows_and_continues_once_the_window_moves(
        sandbox, client, admin, seed):
    from adapters.memory.billing import MemoryBilling
    from application.app import ConcordApp
    from application.backfill import run_backfill
    from application.services import Services

    made = [seed.create_account({"name": f"Acme {n}", "currency": "EUR"}) for n in range(6)]
    crm = make_crm(sandbox, client)[0]
    billing = MemoryBilling()
    svc = Services(ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}), crm, billing)
    admin.post(f"{sandbox.url}/__sandbox/api-usage", json={"used": 10_000 - 5})  # 5 calls left today
    job = run_backfill(svc, "account", since=None, correlation_id="bf", page_size=2, floor=3)
    # COUNT() leaves 4; a page costs 2 here (this sandbox serves 3 rows a batch and a page asks for 4),
    # measured from the header: after the first page 2 are left, under the floor of 3 with a page's 2
    assert job.pages == 1 and job.loaded == 2 and job.paused is not None
    assert (job.paused["reason"], job.paused["used"], job.paused["limit"]) == ("quota_floor", 9_998, 10_000)
    assert job.paused["resume_after"] is None  # the preloaded use is another client's: no honest estimate
    admin.post(f"{sandbox.url}/__sandbox/clock", json={"advance_seconds": 24 * 3600 + 1})  # the window moves on
    job = run_backfill(svc, "account", since=None, correlation_id="bf", page_size=2, floor=3)
    assert job.done and job.loaded == 6 and job.paused is None
    assert sorted(a.crm_id for a in billing.accounts.values()) == sorted(made)
