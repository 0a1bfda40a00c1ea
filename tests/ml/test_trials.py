"""Channel trials through the scorer: a send opens one, outcomes in its window reward it, its window's end
(seen by a later event or the ml wake-up), a failure or the bound closes it into one bandit update."""

from __future__ import annotations

from typing import Any

import pytest

from engine.profile import apply_event
from engine.types import Event, Profile
from ml.labels import ML_TIMER_KIND
from ml.scoring import Scorer, ScorerConfig
from ml.state import MLState
from ml.trials import Closed, TrialConfig
from tests.ml.fixtures import DAY, HOUR, T0, make_event

WINDOW = 72 * HOUR


class Contact:
    """One contact played through a scorer, keeping what the worker keeps, and the trials it closed."""

    def __init__(self, scorer: Scorer | None = None, segment: str = "emea") -> None:
        self.closed: list[Closed] = []
        self.scorer = scorer or Scorer(on_trial=lambda _, trial: self.closed.append(trial))
        self.state: MLState | None = None
        self.profile: Profile | None = None
        self.timers: list[dict[str, Any]] = []
        self.play(make_event("contact.added", T0, segment=segment, email="c1@example.com"))

    def play(self, event: Event, actions: list[dict[str, Any]] | None = None) -> MLState:
        self.profile = apply_event(self.profile, event)
        scorer, profile = self.scorer, self.profile
        self.state, _, timers = scorer.observe(self.state, profile, event, event["ts"], actions or ())
        self.timers += timers
        return self.state

    def send(self, ts: int, channel: str = "email", action_id: str | None = None) -> str:
        action_id = action_id or f"a-{ts}-{channel}"
        wake = make_event("timer.fired", ts, token=f"w{ts}", kind="wait")
        self.play(wake, [_action(action_id, channel, ts)])
        return action_id

    def wakeup(self) -> MLState:
        timer = self.state["tm"] if self.state else None
        assert timer is not None
        event = make_event("timer.fired", timer["due"], event_id=f"timer:{timer['token']}",
                           token=timer["token"], kind=ML_TIMER_KIND)  # fmt: skip
        return self.play(event)

    def posterior(self, channel: str, segment: str = "emea") -> list[float]:
        return self.scorer.models.bandit.posteriors.get(segment, {}).get(channel, [1.0, 1.0])


def _action(action_id: str, channel: str, ts: int) -> dict[str, Any]:
    return {"action_id": action_id, "channel": channel, "type": f"send_{channel}", "contact_id": "c1",
            "workflow_id": "w", "version": 1, "run_id": "r", "node_id": "n", "ts": ts}  # fmt: skip


def test_outcomes_in_the_window_raise_the_reward_and_the_window_end_updates_the_bandit() -> None:
    contact = Contact()
    sent = T0 + HOUR
    action = contact.send(sent)
    assert contact.state is not None and contact.state["ns"] == 1
    contact.play(make_event("email.opened", sent + HOUR, action_id=action))
    contact.play(make_event("email.clicked", sent + 2 * HOUR, action_id=action))
    contact.play(make_event("email.opened", sent + 3 * HOUR, action_id=action))  # a lesser one: no lower
    assert [t["r"] for t in contact.state["tr"]] == [0.7]
    assert contact.closed == [] and contact.posterior("email") == [1.0, 1.0]
    contact.play(make_event("page.viewed", sent + WINDOW))  # the window is [sent, sent + 72 h]
    assert contact.closed == []
    contact.play(make_event("page.viewed", sent + WINDOW + 1))
    closed = [(c.segment, c.channel, c.reward, c.why) for c in contact.closed]
    assert closed == [("emea", "email", 0.7, "window")]
    assert contact.posterior("email") == pytest.approx([1.7, 1.3])
    assert "tr" not in contact.state


def test_the_window_end_schedules_a_wakeup_that_closes_the_trial_without_rescoring() -> None:
    contact = Contact()
    sent = T0 + HOUR
    contact.send(sent, "sms")
    state = contact.state
    assert state is not None
    timer = state["tm"]
    assert sent + WINDOW < timer["due"] <= sent + WINDOW + 1 + DAY  # on the contact's daily slot
    assert timer["o"] is True  # before the weekly re-score: a wake-up for the trial only
    assert contact.timers[-1]["due"] == timer["due"] and contact.timers[-1]["kind"] == ML_TIMER_KIND
    before = {key: state[key] for key in ("sc", "pend", "ls")}
    after = contact.wakeup()
    assert [(c.channel, c.reward, c.why) for c in contact.closed] == [("sms", 0.0, "window")]
    assert contact.posterior("sms") == [1.0, 2.0]
    assert {key: after[key] for key in before} == before  # not scored: no new scores or snapshot
    assert after["tm"] is not None and "o" not in after["tm"]  # back to the re-score wake-up
    assert after["tm"]["due"] > timer["due"]


def test_only_an_outcome_naming_a_trials_action_credits_it() -> None:
    contact = Contact()
    sent = T0 + HOUR
    contact.send(sent, "email", "e1")
    contact.send(sent + 10, "push", "p1")
    contact.send(sent + 20, "email", "e2")
    contact.play(make_event("push.opened", sent + HOUR, action_id="p1"))
    contact.play(make_event("email.clicked", sent + 2 * HOUR, action_id="e1"))  # named: that one, not e2
    state = contact.state
    assert state is not None
    assert {t["a"]: t["r"] for t in state["tr"]} == {"e1": 0.7, "p1": 0.3, "e2": 0.0}
    state = contact.play(make_event("link.clicked", sent + 3 * HOUR, action_id="e2"))  # channel-less, named
    assert {t["a"]: t["r"] for t in state["tr"]} == {"e1": 0.7, "p1": 0.3, "e2": 0.7}


def test_unnamed_outcomes_and_outcomes_of_other_sends_credit_no_trial() -> None:
    contact = Contact()
    sent = T0 + HOUR
    contact.send(sent, "email", "e1")
    contact.send(sent + 10, "push", "p1")
    contact.play(make_event("email.opened", sent + HOUR))  # a campaign email no workflow sent
    contact.play(make_event("email.clicked", sent + HOUR, action_id="campaign-7"))  # not a trial of ours
    contact.play(make_event("push.clicked", sent + HOUR, action_id="e1:elsewhere"))
    contact.play(make_event("purchase", sent + 2 * HOUR))  # channel-less and unnamed: no channel favoured
    contact.play(make_event("link.clicked", sent + 2 * HOUR))
    state = contact.state
    assert state is not None
    assert {t["a"]: t["r"] for t in state["tr"]} == {"e1": 0.0, "p1": 0.0}
    contact.play(make_event("page.viewed", sent + 10 + WINDOW + 1))
    assert sorted((c.channel, c.reward) for c in contact.closed) == [("email", 0.0), ("push", 0.0)]


def test_outcomes_outside_the_window_or_before_the_send_do_not_count() -> None:
    contact = Contact()
    sent = T0 + DAY
    action = contact.send(sent)
    contact.play(make_event("email.clicked", sent - HOUR, action_id=action))  # stamped before the send
    assert contact.state is not None and [t["r"] for t in contact.state["tr"]] == [0.0]
    contact.play(make_event("email.opened", sent + WINDOW, action_id=action))  # the window's last ms counts
    assert [t["r"] for t in contact.state["tr"]] == [0.3]
    contact.play(make_event("email.clicked", sent + WINDOW + 1, action_id=action))  # after: closes, no reward
    assert [(c.reward, c.why) for c in contact.closed] == [(0.3, "window")]


def test_a_failed_send_is_a_zero_reward_at_once() -> None:
    contact = Contact()
    sent = T0 + HOUR
    action = contact.send(sent, "push")
    contact.play(make_event("push.failed", sent + 60_000, action_id="someone-else"))
    assert contact.closed == []
    contact.play(make_event("push.failed", sent + 60_000, action_id=action))
    closed = [(c.channel, c.reward, c.why, c.action_id) for c in contact.closed]
    assert closed == [("push", 0.0, "failed", action)]
    assert contact.posterior("push") == [1.0, 2.0]
    state = contact.state
    assert state is not None and "tr" not in state and "o" not in (state["tm"] or {})


def test_open_trials_are_bounded_and_a_replayed_send_opens_none() -> None:
    config = ScorerConfig(trials=TrialConfig(max_open=3))
    closed: list[Closed] = []
    contact = Contact(Scorer(config=config, on_trial=lambda _, trial: closed.append(trial)))
    for k in range(5):
        contact.send(T0 + HOUR + k * 60_000, action_id=f"s{k}")
    contact.send(T0 + HOUR + 4 * 60_000, action_id="s4")  # the same action again (a replayed event)
    state = contact.state
    assert state is not None
    assert [t["a"] for t in state["tr"]] == ["s2", "s3", "s4"] and state["ns"] == 5
    assert [(c.action_id, c.why) for c in closed] == [("s0", "bounded"), ("s1", "bounded")]


def test_actions_on_other_channels_are_no_trials() -> None:
    contact = Contact()
    wake = make_event("timer.fired", T0 + HOUR, token="w", kind="wait")
    state = contact.play(wake, [_action("t1", "task", T0 + HOUR), _action("h1", "webhook", T0 + HOUR)])
    assert "tr" not in state and "ns" not in state


def test_a_silent_scorer_does_not_teach_the_bandit() -> None:
    closed: list[Closed] = []
    contact = Contact(Scorer(config=ScorerConfig(learn=False), on_trial=lambda _, t: closed.append(t)))
    contact.send(T0 + HOUR)
    contact.play(make_event("page.viewed", T0 + HOUR + WINDOW + 1))
    assert len(closed) == 1 and contact.scorer.models.bandit.posteriors == {}
