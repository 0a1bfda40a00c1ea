"""How events fold into the contact profile."""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from engine.profile import apply_event, new_profile
from engine.types import Event


def ev(etype: str, ts: int, **props: object) -> Event:
    return {"event_id": f"{etype}{ts}", "contact_id": "c", "type": etype, "ts": ts, "properties": dict(props)}


def test_contact_events_merge_attributes_and_null_removes() -> None:
    p = apply_event(None, ev("contact.added", 10, name="Ann", plan="free"))
    p = apply_event(p, ev("crm.updated", 20, plan="pro", name=None, stage="sql"))
    assert p["attrs"] == {"plan": "pro", "stage": "sql"}


def test_other_events_do_not_touch_attributes_but_count() -> None:
    p = apply_event(None, ev("purchase", 10, amount=5, plan="x"))
    assert p["attrs"] == {} and p["counts"] == {"purchase": 1} and p["last_by_type"] == {"purchase": 10}


def test_tags_are_added_and_removed_sorted_unique_on_any_event() -> None:
    p = apply_event(None, ev("form.submitted", 1, add_tags=["b", "a", "b", 3]))
    p = apply_event(p, ev("email.opened", 2, add_tags=["c"], remove_tags=["a", "zz"]))
    assert p["tags"] == ["b", "c"]
    assert "add_tags" not in apply_event(None, ev("contact.added", 1, add_tags=["x"]))["attrs"]


def test_seen_times_follow_contact_activity_only_and_tolerate_disorder() -> None:
    p = apply_event(None, ev("email.opened", 100))
    p = apply_event(p, ev("email.opened", 50))  # late
    p = apply_event(p, ev("email.sent", 500))  # ours, not the contact's
    p = apply_event(p, ev("timer.fired", 900))  # bookkeeping, not counted at all
    assert (p["first_seen"], p["last_seen"]) == (50, 100)
    assert p["counts"] == {"email.opened": 2, "email.sent": 1}
    assert p["last_by_type"]["email.opened"] == 100


def test_predicted_scores() -> None:
    p = apply_event(None, ev("predicted.churn_risk", 1, score=0.83))
    p = apply_event(p, ev("predicted.likely_to_convert", 2, score="high"))  # not a number: ignored
    assert p["scores"] == {"churn_risk": 0.83}
    assert p["last_seen"] == 0  # a prediction is not the contact's activity


events = st.builds(
    ev,
    st.sampled_from(["contact.updated", "email.opened", "purchase", "email.sent", "timer.fired"]),
    st.integers(1, 10**6),
    add_tags=st.lists(st.sampled_from("abc"), max_size=2),
    remove_tags=st.lists(st.sampled_from("abc"), max_size=2),
    plan=st.one_of(st.none(), st.sampled_from(["free", "pro"])),
)


@given(st.lists(events, max_size=12))
def test_folding_is_pure_and_deterministic(seq: list[Event]) -> None:
    p1 = new_profile()
    p2 = new_profile()
    for e in seq:
        before = copy.deepcopy(p1)
        p1 = apply_event(p1, e)
        p2 = apply_event(p2, copy.deepcopy(e))
        assert p1 == p2
        assert before == copy.deepcopy(before)
    counted = [e for e in seq if e["type"] != "timer.fired"]
    assert sum(p1["counts"].values()) == len(counted)
    assert p1["tags"] == sorted(set(p1["tags"]))
