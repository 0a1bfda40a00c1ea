"""The hints the engine reads: their shape and size, when they are recomputed, the bandit pick being
deterministic for a replay, and the fast hour ranking agreeing with the engagement curve."""

from __future__ import annotations

import pickle
import random
from typing import Any

import orjson
import pytest

from engine import decay
from engine.profile import apply_event
from engine.step import step
from engine.types import ContactState, Event, Profile
from engine.workflows import WorkflowSet
from ml.bandit import CHANNELS, TABLE_ROWS, ThompsonBandit, segment_of
from ml.clock import HOURS_PER_WEEK, hour_of_week
from ml.hints import SEND_HOURS, Hints, pick_key
from ml.models import ModelSet
from ml.scoring import Scorer
from ml.send_time import PopulationPrior, PriorView, engagement_curve, ranked_hours, ranked_hours_in, record
from ml.state import MLState
from tests.ml.fixtures import DAY, HOUR, T0, make_event


class Contact:
    """A contact whose hints are kept the way agents.scoring.Predictions keeps them."""

    def __init__(self, scorer: Scorer, contact_id: str = "c1", **attrs: Any) -> None:
        self.scorer = scorer
        self.contact_id = contact_id
        self.state: MLState | None = None
        self.profile: Profile | None = None
        self.hints: Hints | None = None
        self.play(make_event("contact.added", T0, contact_id, **attrs))

    def play(self, event: Event, actions: list[dict[str, Any]] | None = None) -> Hints | None:
        self.profile = apply_event(self.profile, event)
        result = self.scorer.observe_with_hints(
            self.state, self.profile, event, event["ts"], actions or (), self.hints
        )
        self.state, self.hints = result.ml_state, result.hints
        return result.hints


def _send(contact: Contact, ts: int, channel: str = "email") -> Hints | None:
    action = {"action_id": f"a{ts}", "channel": channel, "contact_id": contact.contact_id, "ts": ts}
    wake = make_event("timer.fired", ts, contact.contact_id, token=f"w{ts}", kind="wait")
    return contact.play(wake, [action])


def test_hints_have_the_engine_shape_and_stay_small() -> None:
    contact = Contact(Scorer(), email="a@example.com", phone="+1555", push_token="t")
    for k in range(40):
        contact.play(make_event("email.opened", T0 + k * 5 * HOUR + 7 * 60_000))
    hints = contact.hints
    assert hints is not None and set(hints) == {"send_hours", "channel"}
    hours = hints["send_hours"]
    assert len(hours) == SEND_HOURS == len(set(hours)) and all(0 <= h < HOURS_PER_WEEK for h in hours)
    assert all(isinstance(h, int) for h in hours) and hints["channel"] in CHANNELS
    assert len(orjson.dumps(hints)) <= 120
    assert contact.state is not None and len(orjson.dumps(contact.state["hk"])) <= 40


def test_the_channel_is_one_the_contact_can_be_reached_on() -> None:
    scorer = Scorer()
    for index in range(30):
        contact = Contact(scorer, f"c{index}", phone="+1555")
        assert contact.hints is not None and contact.hints["channel"] == "sms"
        contact = Contact(scorer, f"d{index}")  # no address at all: any channel
        assert contact.hints is not None and contact.hints["channel"] in CHANNELS


def test_hours_are_reranked_on_engagement_or_after_enough_other_activity() -> None:
    contact = Contact(Scorer())
    first = contact.hints
    assert first is not None
    assert contact.play(make_event("page.viewed", T0 + 30 * HOUR)) is first  # one low-weight event: kept
    assert contact.play(make_event("email.opened", T0 + 50 * HOUR)) is not first  # engagement: re-ranked
    ranked = contact.hints
    for k in range(3):
        assert contact.play(make_event("page.viewed", T0 + (60 + k) * HOUR)) is ranked
    fourth = contact.play(make_event("page.viewed", T0 + 64 * HOUR))
    assert fourth is not None and fourth is not ranked and contact.state is not None
    assert fourth["send_hours"] == ranked_hours_in(
        contact.state["how"], T0 + 64 * HOUR, contact.scorer.models.prior.view(), SEND_HOURS
    )


def test_a_prior_that_moved_reranks_on_the_next_event() -> None:
    scorer = Scorer()
    contact = Contact(scorer)
    kept = contact.play(make_event("page.viewed", T0 + HOUR))
    prior = scorer.models.prior
    version = prior.version
    for k in range(PopulationPrior.CHECK_EVERY):  # everyone else engages at one hour of the week
        prior.record(100, 1.0, T0 + k)
    assert prior.version == version + 1
    after = contact.play(make_event("page.viewed", T0 + 2 * HOUR))
    assert after is not kept and after is not None and 100 in after["send_hours"][:3]


def test_a_send_repicks_and_other_unscored_events_leave_the_hints_alone() -> None:
    contact = Contact(Scorer(), email="a@example.com", phone="+1555", push_token="t")
    hints = contact.hints
    assert contact.play(make_event("email.sent", T0 + HOUR)) is hints
    assert contact.play(make_event("timer.fired", T0 + HOUR, token="x", kind="wait")) is hints
    after = _send(contact, T0 + 2 * HOUR)
    assert after is not hints and contact.state is not None and contact.state["hk"][2] == 1


def test_the_pick_is_the_same_for_a_replay_with_the_same_posterior() -> None:
    models = ModelSet()
    world = random.Random(3)
    for _ in range(500):
        models.bandit.update(world.choice(["emea", "na"]), world.choice(CHANNELS), world.random())
    frozen = pickle.dumps(models)

    def picks(scorer: Scorer) -> list[str]:
        out = []
        for index in range(60):
            event = make_event("contact.added", T0, f"c{index}", segment="emea" if index % 2 else "na")
            result = scorer.observe_with_hints(None, apply_event(None, event), event, T0)
            assert result.hints is not None
            out.append(result.hints["channel"])
        return out

    scorer = Scorer(pickle.loads(frozen))
    first = picks(scorer)
    assert picks(scorer) == first  # the same events again (a replay) on the same worker
    assert picks(Scorer(pickle.loads(frozen))) == first  # ... or on a worker restored from a checkpoint
    assert len(set(first)) > 1  # still draws


def test_pick_keys_spread_over_the_table_and_change_with_the_sends() -> None:
    rows = {pick_key(f"rc{index:07d}", 0) % TABLE_ROWS for index in range(2000)}
    assert len(rows) == TABLE_ROWS
    assert sum(pick_key("rc0000001", sends) % TABLE_ROWS != pick_key("rc0000001", 0) % TABLE_ROWS
               for sends in range(1, 20)) >= 15  # fmt: skip


def test_the_draw_table_follows_the_posterior() -> None:
    bandit = ThompsonBandit(seed=1)
    table = bandit.table("emea")
    for _ in range(7):
        bandit.update("emea", "push", 1.0)
    assert bandit.table("emea") is table  # fewer than REDRAW_MIN updates: kept
    bandit.update("emea", "push", 1.0)
    redrawn = bandit.table("emea")
    assert redrawn is not table and redrawn.updates == 8
    for _ in range(200):
        bandit.update("emea", "push", 1.0)
        bandit.update("emea", "email", 0.0)
        bandit.update("emea", "sms", 0.0)
    picks = [bandit.pick("emea", key)[0] for key in range(TABLE_ROWS)]
    assert picks.count("push") == TABLE_ROWS
    assert {bandit.pick("emea", key, ["email", "sms"])[0] for key in range(TABLE_ROWS)} <= {"email", "sms"}


def test_segments() -> None:
    assert segment_of({"segment": "emea", "plan": "pro"}) == "emea"
    assert segment_of({"plan": "pro"}) == "pro"
    assert segment_of({"segment": 3, "plan": ""}) == "all"


def _random_bag(rng: random.Random, keys: int, now: int) -> decay.DecayedBag:
    bag = decay.empty_bag()
    for _ in range(keys):
        hour, weight = rng.randrange(HOURS_PER_WEEK), rng.choice([0.25, 1.0])
        bag = record(bag, hour, weight, now - rng.randrange(60 * DAY))
    return bag


@pytest.mark.parametrize("keys", [0, 1, 3, 12, 60])
def test_fast_ranking_agrees_with_the_engagement_curve(keys: int) -> None:
    rng = random.Random(keys)
    prior = PopulationPrior()
    for k in range(3000):
        prior.record(int(rng.triangular(0, HOURS_PER_WEEK - 1, 60)), 1.0, T0 + k)
    shares = prior.shares()
    view = PriorView(0, shares)
    now = T0 + 90 * DAY
    for _ in range(20):
        bag = _random_bag(rng, keys, now)
        ranked = ranked_hours_in(bag, now, view, 24)
        curve = engagement_curve(bag, now, shares)
        best = sorted(curve, reverse=True)[:24]
        assert [curve[h] for h in ranked] == pytest.approx(best, rel=1e-12, abs=1e-15)
        assert ranked == ranked_hours({"how": bag}, now, prior=shares)


def test_a_first_activity_ranking_is_shared_but_not_aliased() -> None:
    view = PriorView(0, PopulationPrior().shares())
    bag = record(decay.empty_bag(), 10, 0.25, T0)
    first = ranked_hours_in(bag, T0, view, 24)
    first.append(-1)
    again = ranked_hours_in(bag, T0, view, 24)
    assert len(again) == 24 and again[0] == 10 and -1 not in again
    assert again == ranked_hours_in(record(decay.empty_bag(), 10, 0.25, T0 - 1), T0 - 1, view, 24)


def _best_time_workflow() -> WorkflowSet:
    return WorkflowSet.from_definitions([{
        "id": "best", "version": 1, "status": "published", "trigger": {"event": "trial.started"},
        "start": "wait", "nodes": {
            "wait": {"type": "wait", "until": "best_send_time", "within": "24h", "fallback": "10:00",
                     "next": "send"},
            "send": {"type": "action", "action": "send_email", "params": {"template": "x"}},
        },
    }])  # fmt: skip


def _wait_due(state: ContactState) -> int:
    return int(state["runs"]["best"]["wait"]["due"])


def test_a_first_event_waits_for_the_hour_the_prior_gives_its_profile() -> None:
    scorer = Scorer()
    workflows = _best_time_workflow()
    best = hour_of_week(T0 + 5 * HOUR, "UTC")  # T0 is 10:00 UTC: 15:00 the same day
    for k in range(PopulationPrior.CHECK_EVERY):  # the population engages at that hour
        scorer.models.prior.record(best, 1.0, T0 - DAY + k)
    first = make_event("trial.started", T0, "new")
    hints = scorer.first_hints(None, None, None, first)
    assert hints is not None and hints["send_hours"][0] == best
    assert _wait_due(step(None, first, workflows, T0, hints).state) == T0 + 5 * HOUR
    assert _wait_due(step(None, first, workflows, T0).state) == T0 + DAY  # without: the 10:00 fallback


def test_a_contact_with_hints_steps_on_its_own_not_on_recomputed_ones() -> None:
    scorer = Scorer()
    workflows = _best_time_workflow()
    kept_hour = hour_of_week(T0 + 5 * HOUR, "UTC")
    for k in range(PopulationPrior.CHECK_EVERY):
        scorer.models.prior.record(kept_hour, 1.0, T0 - DAY + k)
    added = make_event("contact.added", T0, "old", email="old@example.com")
    state = step(None, added, workflows, T0, scorer.first_hints(None, None, None, added)).state
    seen = scorer.observe_with_hints(None, state["profile"], added, T0, (), state.get("hints"))
    assert seen.hints is not None and seen.hints["send_hours"][0] == kept_hour
    state = {**state, "ml": seen.ml_state, "hints": seen.hints}
    moved_hour = hour_of_week(T0 + 3 * HOUR, "UTC")
    version = scorer.models.prior.version
    for k in range(4 * PopulationPrior.CHECK_EVERY):  # the population moved to another hour since
        scorer.models.prior.record(moved_hour, 1.0, T0 + k)
    assert scorer.models.prior.version > version
    trial = make_event("trial.started", T0 + 60_000, "old")
    newcomer = scorer.first_hints(None, None, None, {**trial, "contact_id": "newcomer"})
    assert newcomer is not None and newcomer["send_hours"][0] == moved_hour
    assert scorer.first_hints(state["ml"], state["profile"], state["hints"], trial) is None
    assert _wait_due(step(state, trial, workflows, T0 + 60_000).state) == T0 + 5 * HOUR
