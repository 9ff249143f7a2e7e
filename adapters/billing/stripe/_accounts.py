"""Accounts at Stripe: customers, found by metadata[crm_id] through the search API."""
# Batched reads (get_accounts): Stripe has no retrieve-many and its list endpoint filters by email or
# created only, so a page of known customers is read with the search API, SEARCH_CLAUSES crm ids OR-ed
# in one query (docs.stripe.com/search: at most 10 clauses; "data is searchable in under 1 minute",
# later during an outage). What search does not return yet is read singly.

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from adapters.billing.stripe import mapping
from adapters.billing.stripe._base import StripeGatewayBase, mapping_errors, search_query
from adapters.billing.stripe.client import SYSTEM, Answer
from adapters.billing.stripe.mapping.common import check_id
from application.errors import NotFound, PermanentError
from application.ports import Page
from domain.canonical import ACCOUNT_FIELDS, BillingAccount

MAX_PAGE = 100  # Stripe's list and search `limit` range is 1..100
SEARCH_CLAUSES = 10  # Stripe's search query takes at most 10 clauses


class AccountOps(StripeGatewayBase):
    account_fields = frozenset(ACCOUNT_FIELDS)  # all of them: the ones with no customer field in metadata

    def find_account(self, crm_id: str) -> BillingAccount | None:
        """By search: consistent within about a minute at Stripe, so a just-created customer may be
        missing; callers consult the Correlation first (DESIGN §3) and use this for recovery."""
        with mapping_errors():
            crm_id = check_id("crm_id", crm_id)
        answer = self.http.get("/v1/customers/search",
                               {"query": search_query(mapping.CRM_ID_KEY, crm_id), "limit": 10})
        found = [c for c in _data(answer.body) if not c.get("deleted")]
        if len(found) > 1:
            ids = ", ".join(str(c.get("id")) for c in found)
            raise PermanentError(f"several Stripe customers carry crm_id {crm_id}: {ids}", system=SYSTEM,
                                 code="duplicate", field="metadata.crm_id")
        return self._account(Answer(found[0], answer.version)) if found else None

    def get_account(self, billing_id: str) -> BillingAccount:
        return self._account(self._customer(billing_id))

    def get_accounts(self, wanted: Mapping[str, str]) -> dict[str, BillingAccount]:
        found: dict[str, BillingAccount] = {}
        pairs = list(wanted.items())
        for start in range(0, len(pairs), SEARCH_CLAUSES):
            chunk = pairs[start:start + SEARCH_CLAUSES]
            with mapping_errors():
                query = " OR ".join(search_query(mapping.CRM_ID_KEY, check_id("crm_id", crm_id)) for _, crm_id in chunk)
            page: str | None = None
            while True:
                answer = self.http.get("/v1/customers/search", {"query": query, "limit": MAX_PAGE, "page": page})
                for customer in _data(answer.body):
                    if customer.get("id") in wanted and not customer.get("deleted"):
                        found[str(customer["id"])] = self._account(Answer(customer, answer.version))
                page = answer.body.get("next_page") if answer.body.get("has_more") else None
                if not page:
                    break
        for billing_id in wanted:
            if billing_id not in found:  # not searchable yet, or its crm_id metadata changed: read it
                with contextlib.suppress(NotFound):
                    found[billing_id] = self.get_account(billing_id)
        return found

    def create_account(self, crm_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        with mapping_errors():
            params = mapping.customer_create_params(crm_id, fields)
        return self._account(self.http.post("/v1/customers", params, idempotency_key))

    def update_account(self, billing_id: str, fields: Mapping[str, Any], idempotency_key: str) -> BillingAccount:
        current = self._customer(billing_id)
        with mapping_errors():
            params = mapping.customer_update_params(current.body, fields)
        if not params:
            return self._account(current)
        return self._account(self.http.post(f"/v1/customers/{billing_id}", params, idempotency_key))

    def list_accounts(self, cursor: str | None, limit: int) -> Page[BillingAccount]:
        params: dict[str, Any] = {"limit": max(1, min(limit, MAX_PAGE)), "starting_after": cursor}
        answer = self.http.get("/v1/customers", params)
        items = [self._account(Answer(c, answer.version)) for c in _data(answer.body)]
        more = bool(answer.body.get("has_more")) and bool(items)
        return Page(items, items[-1].billing_id if more else None)

    def _customer(self, billing_id: str) -> Answer:
        answer = self.http.get(f"/v1/customers/{billing_id}")
        if answer.body.get("deleted"):
            raise NotFound(f"Stripe customer {billing_id} is deleted", system=SYSTEM, code="resource_missing")
        return answer

    @staticmethod
    def _account(answer: Answer) -> BillingAccount:
        with mapping_errors():
            return mapping.customer_to_account(answer.body, answer.version)


def _data(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise PermanentError("Stripe list has no data array of objects", system=SYSTEM, code="unexpected_shape",
                             field="data")
    return data
