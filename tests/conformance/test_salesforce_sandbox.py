"""The Salesforce sandbox held to VENDORS.md over raw HTTP (httpx, never the adapter).

One test per vendor fact of VENDORS §0 #1-#6 and of the §1 facts the sandbox implements. Facts
VENDORS marks UNVERIFIED say so in the test's docstring ("UNVERIFIED:"): they hold the sandbox to
our best belief, not to a confirmed vendor behaviour.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infrastructure.sandboxes.salesforce import SalesforceSandbox
from infrastructure.sandboxes.salesforce.ids import checksum

CLIENT_ID, SECRET = "3MVG9conformance", "conformance-secret"
V = "/services/data/v60.0"
LIFETIME_S = 900


def _key_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return _key_pair()


@pytest.fixture(scope="module")
def server(keys: tuple[str, str]) -> Iterator[SalesforceSandbox]:
    sandbox = SalesforceSandbox(CLIENT_ID, SECRET, token_lifetime_s=LIFETIME_S, daily_limit=50,
                                jwt_public_key_pem=keys[1], page_size=3)
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def raw(server: SalesforceSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


@pytest.fixture
def api(server: SalesforceSandbox, raw: httpx.Client) -> httpx.Client:
    """A fresh org (state, quota, faults, events) and a valid session on it."""
    raw.post("/__sandbox/reset")
    raw.post("/__sandbox/faults", json={})
    raw.headers.pop("Authorization", None)
    raw.headers.pop("Sforce-Call-Options", None)
    answer = raw.post("/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                      "client_secret": SECRET})
    raw.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return raw


def events(api: httpx.Client) -> list[dict]:
    return api.get("/__sandbox/events").json()["events"]


def create(api: httpx.Client, obj: str, body: dict) -> str:
    answer = api.post(f"{V}/sobjects/{obj}/", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


# -- §0 #1: tokens carry no expires_in; expiry is a 401 with an exact array ----------------------------

def test_token_answer_has_no_expires_in_and_issued_at_in_milliseconds(raw: httpx.Client, api: httpx.Client):
    body = raw.post("/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                    "client_secret": SECRET}).json()
    assert "expires_in" not in body and "refresh_token" not in body
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(body)
    assert body["token_type"] == "Bearer" and len(body["issued_at"]) == 13 and body["issued_at"].isdigit()


def test_a_session_past_its_lifetime_answers_the_exact_401_array(api: httpx.Client):
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200
    api.post("/__sandbox/clock", json={"advance_seconds": LIFETIME_S + 1})
    answer = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert answer.status_code == 401
    assert answer.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_a_session_is_still_good_just_before_its_configured_lifetime(api: httpx.Client):
    api.post("/__sandbox/clock", json={"advance_seconds": LIFETIME_S - 5})
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_client_credentials_may_come_as_http_basic(raw: httpx.Client, api: httpx.Client):
    answer = raw.post("/services/oauth2/token", data={"grant_type": "client_credentials"}, auth=(CLIENT_ID, SECRET))
    assert answer.status_code == 200 and answer.json()["access_token"]


def test_refused_credentials_answer_an_error_object_not_an_array(raw: httpx.Client, api: httpx.Client):
    answer = raw.post("/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                      "client_secret": "wrong"})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client" and "error_description" in answer.json()


def test_the_signature_is_hmac_sha256_of_id_and_issued_at(raw: httpx.Client, api: httpx.Client):
    """UNVERIFIED: the key. The old REST guide says the consumer's private key; VENDORS believes the
    consumer secret in practice."""
    body = raw.post("/services/oauth2/token", data={"grant_type": "client_credentials", "client_id": CLIENT_ID,
                                                    "client_secret": SECRET}).json()
    expected = hmac.new(SECRET.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256).digest()
    assert base64.b64decode(body["signature"]) == expected


def test_jwt_bearer_takes_an_rs256_assertion_for_the_consumer_key(raw: httpx.Client, api: httpx.Client,
                                                                   keys: tuple[str, str]):
    claims = {"iss": CLIENT_ID, "sub": "integration@concord.example", "aud": "https://login.salesforce.com",
              "exp": int(time.time()) + 120}
    good = raw.post("/services/oauth2/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                    "assertion": jwt.encode(claims, keys[0], algorithm="RS256")})
    assert good.status_code == 200 and "expires_in" not in good.json()
    hs256 = raw.post("/services/oauth2/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                     "assertion": jwt.encode(claims, "k" * 32, algorithm="HS256")})
    assert hs256.status_code == 400 and hs256.json()["error"] == "invalid_grant"


def test_jwt_bearer_refuses_an_assertion_expired_beyond_the_clock_skew(raw: httpx.Client, api: httpx.Client,
                                                                        keys: tuple[str, str]):
    claims = {"iss": CLIENT_ID, "sub": "u@x.example", "aud": "https://login.salesforce.com",
              "exp": int(time.time()) - 600}
    answer = raw.post("/services/oauth2/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                                      "assertion": jwt.encode(claims, keys[0], algorithm="RS256")})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


# -- §0 #2: two error shapes ------------------------------------------------------------------------

def test_rest_errors_are_arrays_of_message_errorcode_fields(api: httpx.Client):
    answer = api.post(f"{V}/sobjects/Account/", json={"Phone": "1"})
    assert answer.status_code == 400
    assert answer.json() == [{"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING",
                              "fields": ["Name"]}]


def test_collection_record_errors_use_statuscode_not_errorcode(api: httpx.Client):
    answer = api.post(f"{V}/composite/sobjects", json={"records": [
        {"attributes": {"type": "Account"}, "Name": "ok"}, {"attributes": {"type": "Account"}, "Phone": "1"}]})
    assert answer.status_code == 200
    good, bad = answer.json()
    assert good["success"] is True and good["id"].startswith("001")
    assert bad["success"] is False and bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert "errorCode" not in bad["errors"][0]


# -- §1.2: sObject CRUD and ids ------------------------------------------------------------------

def test_crud_answers_201_200_204_204_then_404(api: httpx.Client):
    created = api.post(f"{V}/sobjects/Account/", json={"Name": "Acme"})
    assert created.status_code == 201 and created.json()["success"] is True and created.json()["errors"] == []
    record_id = created.json()["id"]
    assert api.get(f"{V}/sobjects/Account/{record_id}").json()["Name"] == "Acme"
    assert api.patch(f"{V}/sobjects/Account/{record_id}", json={"Name": "Acme 2"}).status_code == 204
    assert api.delete(f"{V}/sobjects/Account/{record_id}").status_code == 204
    gone = api.get(f"{V}/sobjects/Account/{record_id}")
    assert gone.status_code == 404 and gone.json()[0]["errorCode"] == "NOT_FOUND"


def test_ids_are_18_characters_with_the_key_prefix_and_checksum(api: httpx.Client, server: SalesforceSandbox):
    account = create(api, "Account", {"Name": "A"})
    product = create(api, "Product2", {"Name": "P", "ProductCode": "P1", "IsActive": True})
    entry = create(api, "PricebookEntry", {"Product2Id": product, "Pricebook2Id": server.org.standard_pricebook_id,
                                           "UnitPrice": 5, "IsActive": True})
    order = create(api, "Order", {"AccountId": account, "EffectiveDate": "2026-01-01", "Status": "Draft"})
    item = create(api, "OrderItem", {"OrderId": order, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 5})
    for record_id, prefix in ((account, "001"), (product, "01t"), (entry, "01u"), (order, "801"), (item, "802")):
        assert len(record_id) == 18 and record_id.startswith(prefix)
        assert checksum(record_id[:15]) == record_id[15:]
    # A 15-character id names the same record.
    assert api.get(f"{V}/sobjects/Account/{account[:15]}").status_code == 200


def test_an_unknown_field_is_invalid_field(api: httpx.Client):
    answer = api.post(f"{V}/sobjects/Account/", json={"Name": "A", "Nope__c": 1})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_FIELD"


def test_a_body_that_is_not_json_is_a_json_parser_error(api: httpx.Client):
    for path in (f"{V}/sobjects/Account/", f"{V}/composite", f"{V}/composite/sobjects"):
        answer = api.post(path, content=b"{not json", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR", path


def test_a_too_long_value_is_string_too_long(api: httpx.Client):
    answer = api.post(f"{V}/sobjects/Account/", json={"Name": "x" * 256})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "STRING_TOO_LONG"
    assert answer.json()[0]["fields"] == ["Name"]


# -- §0 #3: upsert by external id ------------------------------------------------------------------

def test_upsert_of_an_unknown_value_creates_with_201_and_created_true(api: httpx.Client):
    answer = api.patch(f"{V}/sobjects/Account/Concord_Id__c/k1", json={"Name": "A"})
    assert answer.status_code == 201
    assert answer.json() == {"id": answer.json()["id"], "success": True, "errors": [], "created": True}


def test_upsert_of_a_known_value_updates_with_200_and_created_false(api: httpx.Client):
    """UNVERIFIED: the status of an update in v46+ (VENDORS believes 200 with a body, created:false)."""
    first = api.patch(f"{V}/sobjects/Account/Concord_Id__c/k1", json={"Name": "A"}).json()["id"]
    answer = api.patch(f"{V}/sobjects/Account/Concord_Id__c/K1", json={"Name": "B"})  # matches without case
    assert answer.status_code == 200 and answer.json()["created"] is False and answer.json()["id"] == first


def test_upsert_update_before_v46_answers_204_without_body(api: httpx.Client):
    api.patch("/services/data/v45.0/sobjects/Account/Concord_Id__c/k1", json={"Name": "A"})
    answer = api.patch("/services/data/v45.0/sobjects/Account/Concord_Id__c/k1", json={"Name": "B"})
    assert answer.status_code == 204 and answer.content == b""


def test_upsert_matching_several_records_answers_300_and_writes_nothing(api: httpx.Client):
    first = create(api, "Account", {"Name": "A", "Concord_Id__c": "dup"})
    create(api, "Account", {"Name": "B", "Concord_Id__c": "dup"})
    answer = api.patch(f"{V}/sobjects/Account/Concord_Id__c/dup", json={"Name": "C"})
    assert answer.status_code == 300 and len(answer.json()) == 2
    assert api.get(f"{V}/sobjects/Account/{first}").json()["Name"] == "A"


def test_upsert_on_a_field_that_is_no_external_id_answers_404_not_found(api: httpx.Client):
    answer = api.patch(f"{V}/sobjects/Account/Name/x", json={"Phone": "1"})
    assert answer.status_code == 404 and answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_upsert_with_update_only_never_inserts(api: httpx.Client):
    answer = api.patch(f"{V}/sobjects/Account/Concord_Id__c/none", params={"updateOnly": "true"}, json={"Name": "A"})
    assert answer.status_code == 404
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).json()["totalSize"] == 0


# -- §0 #4: composite and collections ---------------------------------------------------------------

def test_composite_answers_200_at_the_top_when_a_subrequest_fails(api: httpx.Client):
    answer = api.post(f"{V}/composite", json={"compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "bad", "body": {"Phone": "1"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "good", "body": {"Name": "A"}}]})
    assert answer.status_code == 200
    bad, good = answer.json()["compositeResponse"]
    assert bad["httpStatusCode"] == 400 and bad["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert good["httpStatusCode"] == 201


def test_composite_all_or_none_rolls_back_and_halts_the_others(api: httpx.Client):
    answer = api.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "a", "body": {"Name": "A"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "b", "body": {"Phone": "1"}},
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "c", "body": {"Name": "C"}}]})
    assert answer.status_code == 200
    first, failed, halted = answer.json()["compositeResponse"]
    assert failed["httpStatusCode"] == 400 and failed["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert first["httpStatusCode"] == 400 and halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).json()["totalSize"] == 0
    assert events(api) == []  # a rolled-back transaction emits no change event


def test_composite_resolves_references_to_earlier_results(api: httpx.Client):
    answer = api.post(f"{V}/composite", json={"compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acc", "body": {"Name": "A"}},
        {"method": "GET", "url": f"{V}/sobjects/Account/@{{acc.id}}", "referenceId": "read"}]})
    created, read = answer.json()["compositeResponse"]
    assert read["httpStatusCode"] == 200 and read["body"]["Id"] == created["body"]["id"]


def test_composite_takes_at_most_25_subrequests(api: httpx.Client):
    subs = [{"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Account", "referenceId": f"r{n}"} for n in range(26)]
    answer = api.post(f"{V}/composite", json={"compositeRequest": subs})
    assert answer.status_code == 400 and isinstance(answer.json(), list)


def test_collections_take_at_most_200_records(api: httpx.Client):
    records = [{"attributes": {"type": "Account"}, "Name": f"A{n}"} for n in range(201)]
    answer = api.post(f"{V}/composite/sobjects", json={"records": records})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collections_all_or_none_rolls_back_the_valid_siblings(api: httpx.Client):
    answer = api.post(f"{V}/composite/sobjects", json={"allOrNone": True, "records": [
        {"attributes": {"type": "Account"}, "Name": "ok"}, {"attributes": {"type": "Account"}, "Phone": "1"}]})
    assert answer.status_code == 200
    sibling, bad = answer.json()
    assert sibling["success"] is False and sibling["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).json()["totalSize"] == 0


def test_collections_upsert_reports_created_per_record(api: httpx.Client):
    create(api, "Account", {"Name": "A", "Concord_Id__c": "x1"})
    answer = api.patch(f"{V}/composite/sobjects/Account/Concord_Id__c", json={"records": [
        {"attributes": {"type": "Account"}, "Concord_Id__c": "x1", "Name": "A2"},
        {"attributes": {"type": "Account"}, "Concord_Id__c": "x2", "Name": "B"}]})
    assert [r["created"] for r in answer.json()] == [False, True]


def test_collections_read_by_ids_with_null_for_the_missing(api: httpx.Client):
    record_id = create(api, "Account", {"Name": "A"})
    answer = api.get(f"{V}/composite/sobjects/Account", params={"ids": f"{record_id},0015g00000000zzAAA",
                                                                 "fields": "Id,Name"})
    assert answer.status_code == 200
    found, missing = answer.json()
    assert found["Name"] == "A" and missing is None


def test_collections_delete_by_ids_answers_per_record(api: httpx.Client):
    record_id = create(api, "Account", {"Name": "A"})
    answer = api.delete(f"{V}/composite/sobjects", params={"ids": f"{record_id},0015g00000000zzAAA"})
    assert answer.status_code == 200
    deleted, unknown = answer.json()
    assert deleted == {"id": record_id, "success": True, "errors": []}
    assert unknown["success"] is False and unknown["errors"][0]["statusCode"] == "NOT_FOUND"


# -- §0 #5 / §1.4: the daily quota ------------------------------------------------------------------

def test_every_rest_answer_carries_sforce_limit_info(api: httpx.Client):
    first = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    error = api.get(f"{V}/sobjects/Account/001000000000000AAA")
    used_first = int(first.headers["Sforce-Limit-Info"].split("=")[1].split("/")[0])
    assert error.headers["Sforce-Limit-Info"] == f"api-usage={used_first + 1}/50"


def test_past_the_daily_limit_answers_403_request_limit_exceeded_never_429(api: httpx.Client):
    api.post("/__sandbox/api-usage", json={"used": 50})
    answer = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert answer.status_code == 403
    assert answer.json() == [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert answer.headers["Sforce-Limit-Info"] == "api-usage=50/50"


def test_the_quota_is_a_rolling_24_hour_window(api: httpx.Client):
    api.post("/__sandbox/api-usage", json={"used": 50})
    api.post("/__sandbox/clock", json={"advance_seconds": 24 * 3600 + 1})
    api.headers["Authorization"] = "Bearer " + api.post("/services/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": SECRET}).json()["access_token"]
    assert api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"}).status_code == 200


def test_injected_throttling_is_403_request_limit_exceeded(api: httpx.Client):
    api.post("/__sandbox/faults", json={"throttle_rate": 1.0})
    answer = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert answer.status_code == 403 and answer.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_injected_server_errors_are_500_arrays(api: httpx.Client):
    api.post("/__sandbox/faults", json={"error_rate": 1.0})
    answer = api.get(f"{V}/query", params={"q": "SELECT Id FROM Account"})
    assert answer.status_code == 500 and answer.json()[0]["errorCode"] == "UNKNOWN_EXCEPTION"


# -- SOQL ---------------------------------------------------------------------------------------------

def test_query_pages_with_next_records_url(api: httpx.Client):
    for n in range(7):
        create(api, "Account", {"Name": f"A{n}"})
    first = api.get(f"{V}/query", params={"q": "SELECT Id, Name FROM Account ORDER BY Name"}).json()
    assert first["totalSize"] == 7 and first["done"] is False and len(first["records"]) == 3
    names = [r["Name"] for r in first["records"]]
    page = first
    while not page["done"]:
        page = api.get(page["nextRecordsUrl"]).json()
        names += [r["Name"] for r in page["records"]]
    assert names == [f"A{n}" for n in range(7)]


def test_query_filters_orders_and_follows_relationships(api: httpx.Client, server: SalesforceSandbox):
    product = create(api, "Product2", {"Name": "P", "ProductCode": "SKU-1", "IsActive": True})
    entry = create(api, "PricebookEntry", {"Product2Id": product, "Pricebook2Id": server.org.standard_pricebook_id,
                                           "UnitPrice": 12.5, "IsActive": True})
    account = create(api, "Account", {"Name": "A"})
    order = create(api, "Order", {"AccountId": account, "EffectiveDate": "2026-01-01", "Status": "Draft"})
    create(api, "OrderItem", {"OrderId": order, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 12.5})
    rows = api.get(f"{V}/query", params={"q": f"SELECT Id, Quantity, Product2.ProductCode FROM OrderItem "
                                              f"WHERE OrderId = '{order}' AND Quantity >= 2"}).json()["records"]
    assert rows[0]["Product2"]["ProductCode"] == "SKU-1" and rows[0]["Quantity"] == 2


def test_a_malformed_query_is_malformed_query(api: httpx.Client):
    answer = api.get(f"{V}/query", params={"q": "SELECT FROM"})
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MALFORMED_QUERY"


# -- §0 #6 / §1.5 / §1.6: change events in Event Relay's envelope -----------------------------------

def test_a_change_event_sits_under_detail_payload_with_the_partner_source(api: httpx.Client,
                                                                          server: SalesforceSandbox):
    record_id = create(api, "Account", {"Name": "Acme", "BillingCity": "Paris"})
    (envelope,) = events(api)
    assert envelope["detail-type"] == "AccountChangeEvent"
    assert envelope["source"] == f"aws.partner/salesforce.com/{server.org_id}/{server.emitter.channel_id}"
    assert {"version", "id", "account", "time", "region", "resources"} <= set(envelope)
    header = envelope["detail"]["payload"]["ChangeEventHeader"]
    assert header["entityName"] == "Account" and header["recordIds"] == [record_id]
    assert header["changeType"] == "CREATE" and "ChangeEventHeader" not in envelope["detail"]
    assert envelope["detail"]["payload"]["BillingAddress"]["City"] == "Paris"


def test_detail_carries_optional_metadata_beside_the_payload(api: httpx.Client):
    """UNVERIFIED: which metadata siblings of `payload` appear under `detail` (schemaId, id, replayId)."""
    create(api, "Account", {"Name": "Acme"})
    assert {"payload", "schemaId", "id", "replayId"} == set(events(api)[0]["detail"])


def test_an_update_event_names_changed_and_nulled_fields_with_compound_parts(api: httpx.Client):
    record_id = create(api, "Account", {"Name": "Acme", "BillingCity": "Paris", "Phone": "1"})
    api.patch(f"{V}/sobjects/Account/{record_id}", json={"BillingCity": "Lyon", "Phone": None})
    payload = events(api)[-1]["detail"]["payload"]
    header = payload["ChangeEventHeader"]
    assert header["changeType"] == "UPDATE"
    assert set(header["changedFields"]) == {"BillingAddress.City", "Phone", "LastModifiedDate"}
    assert header["nulledFields"] == ["Phone"]
    assert payload["BillingAddress"]["City"] == "Lyon" and payload["Name"] is None  # unchanged: null


def test_change_origin_carries_the_writers_client_id(api: httpx.Client):
    api.post(f"{V}/sobjects/Account/", json={"Name": "A"}, headers={"Sforce-Call-Options": "client=concord-sync"})
    api.post(f"{V}/sobjects/Account/", json={"Name": "B"})
    with_client, without = (e["detail"]["payload"]["ChangeEventHeader"]["changeOrigin"] for e in events(api))
    assert with_client.endswith(";client=concord-sync") and "client=" not in without


def test_commit_numbers_increase_and_a_transaction_shares_its_key(api: httpx.Client):
    api.post(f"{V}/composite/sobjects", json={"records": [{"attributes": {"type": "Account"}, "Name": "A"},
                                                          {"attributes": {"type": "Account"}, "Name": "B"}]})
    create(api, "Account", {"Name": "C"})
    headers = [e["detail"]["payload"]["ChangeEventHeader"] for e in events(api)]
    assert headers[0]["transactionKey"] == headers[1]["transactionKey"] != headers[2]["transactionKey"]
    assert [h["sequenceNumber"] for h in headers[:2]] == [1, 2]
    assert headers[0]["commitNumber"] == headers[1]["commitNumber"] < headers[2]["commitNumber"]


def test_a_delete_event_carries_the_header_only(api: httpx.Client):
    record_id = create(api, "Account", {"Name": "A"})
    api.delete(f"{V}/sobjects/Account/{record_id}")
    assert events(api)[-1]["detail"]["payload"]["ChangeEventHeader"]["changeType"] == "DELETE"
    assert list(events(api)[-1]["detail"]["payload"]) == ["ChangeEventHeader"]


def test_gap_and_overflow_events_carry_a_header_without_fields_or_origin(api: httpx.Client):
    api.post("/__sandbox/gap", json={"entity": "Account", "recordIds": ["0015g0000000001AAA"]})
    api.post("/__sandbox/overflow", json={"entity": "Account"})
    gap, overflow = (e["detail"]["payload"] for e in events(api))
    assert gap["ChangeEventHeader"]["changeType"] == "GAP_UPDATE" and list(gap) == ["ChangeEventHeader"]
    assert gap["ChangeEventHeader"]["changeOrigin"] == ""
    assert overflow["ChangeEventHeader"]["changeType"] == "GAP_OVERFLOW"
    assert overflow["ChangeEventHeader"]["recordIds"] == ["001*"]


def test_a_platform_event_has_its_api_name_as_detail_type(api: httpx.Client):
    answer = api.post(f"{V}/sobjects/Order_Sync__e/", json={"Order_Id__c": "801x"})
    assert answer.status_code == 201 and answer.json()["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    envelope = events(api)[-1]
    assert envelope["detail-type"] == "Order_Sync__e"
    assert envelope["detail"]["payload"]["Order_Id__c"] == "801x" and "CreatedDate" in envelope["detail"]["payload"]


def test_duplicate_delivery_resends_the_same_envelope(api: httpx.Client):
    api.post("/__sandbox/faults", json={"duplicate_event_rate": 1.0})
    create(api, "Account", {"Name": "A"})
    first, second = events(api)
    assert first == second  # at-least-once: the same EventBridge id twice


def test_dropped_events_are_never_delivered(api: httpx.Client):
    api.post("/__sandbox/faults", json={"drop_event_rate": 1.0})
    create(api, "Account", {"Name": "A"})
    assert events(api) == []


def test_a_relay_starts_stopped_and_delivers_only_its_channel_members_once_running(api: httpx.Client,
                                                                                  server: SalesforceSandbox):
    tooling = f"{V}/tooling/sobjects"
    api.post(f"{tooling}/NamedCredential", json={"FullName": "Aws", "Metadata": {"endpoint": "arn:aws:eu-west-1:1"}})
    channel = api.post(f"{tooling}/PlatformEventChannel", json={"FullName": "C__chn",
                                                                "Metadata": {"channelType": "data"}}).json()["id"]
    mixed = api.post(f"{tooling}/PlatformEventChannelMember", json={"FullName": "C_chn_e", "Metadata": {
        "eventChannel": "C__chn", "selectedEntity": "Order_Sync__e"}})
    assert mixed.status_code == 400  # a channel holds change events or platform events, never both
    api.post(f"{tooling}/PlatformEventChannelMember", json={"FullName": "C_chn_Account", "Metadata": {
        "eventChannel": "C__chn", "selectedEntity": "AccountChangeEvent"}})
    relay = api.post(f"{tooling}/EventRelayConfig", json={"FullName": "R", "Metadata": {
        "eventChannel": "C__chn", "destinationResourceName": "callout:Aws", "state": "RUN"}}).json()["id"]
    assert api.get(f"{tooling}/EventRelayConfig/{relay}").json()["State"] == "STOP"
    assert api.patch(f"{tooling}/EventRelayConfig/{relay}", json={"Metadata": {"state": "RUN"}}).status_code == 204
    create(api, "Account", {"Name": "A"})
    create(api, "Product2", {"Name": "P"})
    (only,) = events(api)
    assert only["detail-type"] == "AccountChangeEvent"
    assert only["source"] == f"aws.partner/salesforce.com/{server.org_id}/{channel}"
