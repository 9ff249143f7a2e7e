"""The outbox relay's translation: log items of the events table's stream -> canonical envelopes."""

from __future__ import annotations

import base64

from adapters.aws.dynamodb_eventstore.codec import encode_events
from adapters.aws.outbox import envelopes_of, log_frames
from application.app import ConcordApp
from domain.account import Account
from domain.envelope import envelope_from_dict


def _stream_event(app: ConcordApp, events, *, pk="concord_events#log", binary_as_text=True):
    stored = [app.mapper.to_stored_event(e) for e in events]
    frame = encode_events(stored)
    return {"Records": [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "100", "NewImage": {
            "pk": {"S": pk}, "sk": {"N": "1"}, "hi": {"N": str(len(stored))},
            "ev": {"B": base64.b64encode(frame).decode() if binary_as_text else frame}}}},
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "101", "NewImage": {
            "pk": {"S": "concord_events#h#x"}, "sk": {"N": "0"}}}},  # a head item: not an event
    ]}


def test_each_domain_event_becomes_one_valid_canonical_envelope():
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    account = Account.register("001A", {"name": "Acme", "currency": "EUR"}, (1, 1, 1), "corr-7")
    account.record_synced("billing", {"billing": "ba_1"}, "corr-7", "k")
    [frame] = list(log_frames(_stream_event(app, account.collect_events())))
    envelopes = envelopes_of(frame, app.mapper, lambda _id: None)
    assert [e["metadata"]["eventName"] for e in envelopes] == ["Account.Registered", "Account.Synced"]
    for built in envelopes:
        parsed = envelope_from_dict(built)  # the same validation the gateway applies
        assert parsed.metadata.source == "concord.domain" and parsed.metadata.correlationId == "corr-7"
    assert envelopes[1]["data"]["crmId"] == "001A" and envelopes[1]["data"]["state"]["ids"] == {"billing": "ba_1"}


def test_a_redelivered_stream_record_gives_the_same_event_ids():
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    events = Account.register("001A", {"name": "Acme", "currency": "EUR"}, (1, 1, 1), "c").collect_events()
    first = envelopes_of(next(log_frames(_stream_event(app, events))), app.mapper, lambda _id: None)
    again = envelopes_of(next(log_frames(_stream_event(app, events, binary_as_text=False))), app.mapper,
                         lambda _id: None)
    assert [e["metadata"]["eventId"] for e in first] == [e["metadata"]["eventId"] for e in again]


def test_items_other_than_the_notification_log_are_not_published():
    app = ConcordApp(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    events = Account.register("001A", {"name": "Acme", "currency": "EUR"}, (1, 1, 1), "c").collect_events()
    assert list(log_frames(_stream_event(app, events, pk="concord_events#e#abc"))) == []
