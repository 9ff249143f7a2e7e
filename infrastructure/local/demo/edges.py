"""Steps 5-9 of the scenario: billing-side events, the carrier, the WebSocket client, the audit trail."""

from __future__ import annotations

from typing import Any

from infrastructure.local.demo.carrier import Carrier
from infrastructure.local.demo.observe import StepFailed
from infrastructure.local.demo.scenario import Demo


def payment_failure_and_recovery(d: Demo) -> str:
    d.billing.payment(d.ids["account_number"], d.ids["subscription"], failed=True)
    d.out.hop(d.billing.vendor, "payment failed")
    d.wait("the order suspended", lambda: d.view.order_status(d.ids["order"]) == "suspended")
    d.out.hop(
        "concord",
        f"order suspended; {d.billing.vendor}: {d.billing.subscription_state(d.ids['subscription'])}",
    )
    d.billing.payment(d.ids["account_number"], d.ids["subscription"], failed=False)
    d.out.hop(d.billing.vendor, "payment processed")
    d.wait("the order active again", lambda: d.view.order_status(d.ids["order"]) == "active")
    d.out.hop(
        "concord", f"order resumed; {d.billing.vendor}: {d.billing.subscription_state(d.ids['subscription'])}"
    )
    return "suspended on the failed payment, active again once paid"


def billing_cancellation_comes_back(d: Demo) -> str:
    d.billing.cancel(d.ids["subscription"], d.ids["subscription_number"], d.ids["account_number"])
    d.out.hop(d.billing.vendor, f"a billing clerk cancelled subscription {d.ids['subscription_number']}")
    d.wait("the order cancelled in concord", lambda: d.view.order_status(d.ids["order"]) == "cancelled")
    d.out.hop("concord", "order cancelled")
    record = d.wait("the CRM status fields", lambda: _written_back(d.crm.read("Order", d.ids["order"])))
    d.out.hop(
        "salesforce",
        f"Order {d.ids['order']}: {record['Concord_Sync_Status__c']} / {record['Concord_Sync_Message__c']!r}",
    )
    return f"CRM order says {record['Concord_Sync_Message__c']!r}"


def _written_back(record: dict[str, Any]) -> dict[str, Any] | None:
    return record if "cancel" in str(record.get("Concord_Sync_Message__c") or "").lower() else None


def carrier_round_trip(d: Demo) -> str:
    order = d.ids["order"]
    delivered = d.wait(
        "a signed Order.Activated delivery at the carrier",
        lambda: d.carrier.delivered("Order.Activated", order),
    )
    d.out.hop("carrier", f"received Order.Activated {delivered['metadata']['eventId']} (signature verified)")
    shipment = f"SHP-{d.run}"
    answer = d.carrier.publish(d.gateway, d.api_key, order, shipment, delivered["metadata"]["correlationId"])
    if answer.status_code != 202:
        raise StepFailed(f"POST /events answered {answer.status_code}: {answer.text[:200]}")
    d.out.hop("carrier", f"POST /events ShipmentConfirmed {shipment} -> 202")
    linked = d.wait(f"the order known by carrier id {shipment}",
                    lambda: d.view.lookup("com.example.carrier", shipment))
    d.out.hop("concord", f"correlation: {shipment} -> order {linked[0]['crm_id']}")
    spoofed = Carrier.publish(d.gateway, "not-a-key", order, shipment, "spoof")
    d.out.hop("gateway", f"the same event with a wrong key -> {spoofed.status_code}")
    if spoofed.status_code not in (401, 403):
        raise StepFailed(f"a wrong API key was answered {spoofed.status_code}")
    return f"delivery verified; ShipmentConfirmed {shipment} accepted (202) and linked to the order"


def notifications_arrive(d: Demo) -> str:
    wanted = {"Account.Synced", "Order.Activated", "Order.Suspended", "Order.Cancelled"}
    d.wait(f"WebSocket notifications {sorted(wanted)}", lambda: wanted <= set(d.listener.events()))
    return f"{len(d.listener.messages)} messages, including {', '.join(sorted(wanted))}"


def account_history(d: Demo) -> str:
    entries = d.view.history("account", d.ids["account"])
    if not entries:
        raise StepFailed("the account has no history")
    d.out.table(
        f"History of account {d.ids['account']}",
        ["v", "time", "event", "correlation id", "changes"],
        [
            [
                str(e.version),
                e.timestamp.strftime("%H:%M:%S.%f")[:-3],
                e.event,
                e.correlation_id[:13],
                ", ".join(sorted(str(k) for k in e.changes))[:60],
            ]
            for e in entries
        ],
    )
    return f"{len(entries)} events"
