"""Consent across workflows (engine.consent): an unsubscribe, a bounce or a complaint stops marketing
sends in every workflow; transactional sends still go; a later subscribe restores consent."""

from __future__ import annotations

from engine.validation import load_workflow
from engine.workflows import WorkflowSet
from tests.engine.fixtures import DAY, T0, Harness, workflow_text

NEWSLETTER = workflow_text(
    "  a: {type: wait, duration: 6d, next: b}\n"
    "  b: {type: action, action: send_email, params: {template: news, subject: News}, next: c}\n"
    "  c: {type: action, action: send_sms, params: {body: hi}, next: d}\n"
    "  d: {type: action, action: send_email, params: {template: receipt, subject: Receipt,"
    " category: transactional}}\n",
    id="newsletter",
    trigger="{event: list.joined}",
    settings="{reentry: always}",
)
REENGAGE = workflow_text(
    "  a: {type: action, action: update_contact, params: {status: unsubscribed}}\n",
    id="reengage",
    trigger="{event: gave.up}",
)


def harness() -> Harness:
    return Harness(WorkflowSet([load_workflow(NEWSLETTER), load_workflow(REENGAGE)]), contact_id="c1")


def sent(h: Harness) -> list[tuple[str, str]]:
    return [(a["node_id"], a["type"]) for a in h.actions]


def suppressed(h: Harness) -> list[tuple[str | None, str]]:
    return [(e["node_id"], e["reason"]) for e in h.trace if e["transition"] == "suppressed"]


def test_consented_contact_gets_everything() -> None:
    h = harness()
    h.send("list.joined")
    h.run_until(T0 + 7 * DAY)
    assert sent(h) == [("b", "send_email"), ("c", "send_sms"), ("d", "send_email")]


def test_an_unsubscribe_stops_marketing_in_another_workflow_but_not_transactional() -> None:
    h = harness()
    h.send("list.joined")
    h.send("unsubscribed", at=T0 + DAY)  # no channel: every channel
    h.run_until(T0 + 7 * DAY)
    assert sent(h) == [("d", "send_email")]
    assert suppressed(h) == [("b", "consent: email unsubscribed"), ("c", "consent: sms unsubscribed")]


def test_status_unsubscribed_set_by_another_workflow_is_honoured() -> None:
    h = harness()
    h.send("list.joined")
    h.send("gave.up", at=T0 + DAY)  # the re-engagement workflow sets status: unsubscribed
    h.run_until(T0 + 7 * DAY)
    assert sent(h) == [("d", "send_email")]
    assert [reason for _, reason in suppressed(h)] == ["consent: the contact is unsubscribed (status)"] * 2


def test_a_bounce_stops_email_only_and_a_resubscribe_restores_it() -> None:
    h = harness()
    h.send("list.joined")
    h.send("email.bounced", at=T0 + DAY)
    h.run_until(T0 + 7 * DAY)
    assert sent(h) == [("c", "send_sms"), ("d", "send_email")]
    assert suppressed(h) == [("b", "consent: email bounced")]
    h.send("subscribed", at=T0 + 8 * DAY, channel="email")
    h.send("list.joined", at=T0 + 9 * DAY)
    h.run_until(T0 + 16 * DAY)
    assert sent(h)[2:] == [("b", "send_email"), ("c", "send_sms"), ("d", "send_email")]


def test_a_channel_named_unsubscribe_leaves_the_other_channels() -> None:
    h = harness()
    h.send("list.joined")
    h.send("unsubscribed", at=T0 + DAY, channel="sms")
    h.send("email.complained", at=T0 + 2 * DAY)
    h.run_until(T0 + 7 * DAY)
    assert suppressed(h) == [("b", "consent: email complained"), ("c", "consent: sms unsubscribed")]


def test_event_time_decides_a_late_subscribe_does_not_undo_a_newer_unsubscribe() -> None:
    h = harness()
    h.send("list.joined")
    h.send("unsubscribed", at=T0 + 2 * DAY, channel="email")
    h.send("subscribed", at=T0 + DAY, channel="email")  # sent before the unsubscribe, arrived after it
    h.run_until(T0 + 7 * DAY)
    assert suppressed(h) == [("b", "consent: email unsubscribed")]


def test_an_unsubscribe_naming_channels_in_a_list_unsubscribes_every_channel() -> None:
    h = harness()
    h.send("list.joined")
    h.send("unsubscribed", at=T0 + DAY, channel=["email"])  # not a channel name: as if none were named
    h.run_until(T0 + 7 * DAY)
    assert sent(h) == [("d", "send_email")]
