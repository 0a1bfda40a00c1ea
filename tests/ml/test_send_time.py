"""Best send time: the decayed hour-of-week histogram, the population prior, and the lift it gives on
generated contacts whose true engagement curve is known."""

from __future__ import annotations

from engine import decay
from ml.clock import HOURS_PER_WEEK, hour_of_week, next_hour_start
from ml.send_time import PopulationPrior, best_send_time, engagement_curve, histogram, record
from ml.state import MLState, absorb
from tests.ml.fixtures import DAY, HOUR, T0, make_event

MONDAY_0_UTC = 1_767_571_200_000  # 2026-01-05T00:00:00Z


def _habit(local_hour_of_week: int, tz: str, weeks: int = 6) -> MLState:
    """An ml-state whose contact opened emails at one local hour of the week, every week."""
    state = None
    start = next_hour_start(MONDAY_0_UTC, tz, local_hour_of_week, HOURS_PER_WEEK)
    for week in range(weeks):
        state = absorb(state, make_event("email.opened", start + week * 7 * DAY + 5 * 60_000), tz)
    assert state is not None
    return state


def test_histogram_decays_and_counts_by_local_hour() -> None:
    bag = record(decay.empty_bag(), 10, 1.0, T0)
    bag = record(bag, 10, 1.0, T0)
    assert histogram(bag, T0)[10] == 2.0
    assert abs(histogram(bag, T0 + 28 * DAY)[10] - 1.0) < 1e-9  # one half-life later


def test_the_best_time_is_the_contacts_habitual_hour_in_its_timezone() -> None:
    for tz, habit in (("Europe/Berlin", 9), ("Asia/Tokyo", 2 * 24 + 20), ("Asia/Kolkata", 4 * 24 + 7)):
        state = _habit(habit, tz)
        now = MONDAY_0_UTC + 8 * 7 * DAY
        chosen = best_send_time(state, tz, now, horizon_hours=HOURS_PER_WEEK)
        assert hour_of_week(chosen, tz) == habit
        assert now <= chosen < now + HOURS_PER_WEEK * HOUR
        assert hour_of_week(chosen - 1, tz) != habit  # the start of that local hour


def test_within_a_day_the_daily_habit_wins_and_now_is_returned_when_now_is_best() -> None:
    state = _habit(9, "UTC")  # Monday 09:00 UTC
    tuesday_3 = MONDAY_0_UTC + 7 * 7 * DAY + DAY + 3 * HOUR
    chosen = best_send_time(state, "UTC", tuesday_3, horizon_hours=24)
    assert chosen - tuesday_3 < 24 * HOUR
    monday_9_30 = MONDAY_0_UTC + 7 * 7 * DAY + 9 * HOUR + 30 * 60_000
    assert best_send_time(state, "UTC", monday_9_30, horizon_hours=HOURS_PER_WEEK) == monday_9_30


def test_a_new_contact_follows_the_population_prior() -> None:
    prior = PopulationPrior()
    for week in range(3):
        prior.record(19, 1.0, T0 + week * 7 * DAY)
    chosen = best_send_time(None, "America/New_York", MONDAY_0_UTC, prior=prior.shares(), horizon_hours=168)
    assert hour_of_week(chosen, "America/New_York") == 19
    assert abs(sum(prior.shares()) - 1.0) < 1e-9
    flat = engagement_curve(decay.empty_bag(), T0, None)
    assert max(flat) == min(flat)  # no history and no prior: no preference


def test_best_send_time_lifts_engagement_over_a_random_hour_on_generated_contacts() -> None:
    from loadtest.ml_experiments import send_time_lift
    from tests.ml.fixtures import small_run, small_traffic

    figures = send_time_lift(small_traffic(), small_run(), horizon_hours=24)
    assert figures.contacts > 300
    assert figures.lift > 0.25, figures
    assert figures.prior_lift > 0.0, figures  # the population prior alone beats chance
    assert figures.random < figures.best <= figures.oracle
    # the engine's `wait until: best_send_time`, fed the hints the worker keeps, earns the lift too
    assert figures.engine_lift > 0.25, figures
    assert figures.engine_wait <= figures.oracle


def test_ranked_hours_put_the_habit_first() -> None:
    from ml.send_time import ranked_hours

    state = _habit(4 * 24 + 18, "UTC")
    ranked = ranked_hours(state, MONDAY_0_UTC + 8 * 7 * DAY, top=5)
    assert ranked[0] == 4 * 24 + 18 and len(ranked) == 5 and len(set(ranked)) == 5
    assert set(ranked) <= {4 * 24 + 16, 4 * 24 + 17, 4 * 24 + 18, 4 * 24 + 19, 4 * 24 + 20}
