"""The timer queue: due timers come out in order and never early, cancelled ones never, and cancellations
do not pile up as garbage (the single heap it replaced compacted itself in one pass on the event loop)."""

from __future__ import annotations

import random

import pytest

from agents.timer_queue import Timer, TimerQueue

MINUTE = 60_000
START = 1_767_261_600_000


def drain(queue: TimerQueue, now_ms: int) -> list[Timer]:
    out = []
    while (timer := queue.pop_due(now_ms)) is not None:
        out.append(timer)
    return out


def test_timers_come_out_in_due_order_once_due_whether_near_or_far() -> None:
    queue = TimerQueue(START, near_ms=10 * MINUTE, bucket_ms=MINUTE)
    dues = [
        START + 5_000,
        START + 3 * 24 * 60 * MINUTE,
        START + 9 * MINUTE,
        START + 11 * MINUTE + 7,
        START + 1,
    ]
    for index, due in enumerate(dues):
        assert queue.add(Timer(due, f"t{index}", f"c{index}", "wait"))
    assert len(queue) == 5 and queue.entries == 5
    assert drain(queue, START) == []  # nothing is due yet
    assert [t.token for t in drain(queue, START + 5_000)] == ["t4", "t0"]
    assert drain(queue, START + 11 * MINUTE + 6) == [Timer(START + 9 * MINUTE, "t2", "c2", "wait")]
    assert [t.token for t in drain(queue, START + 11 * MINUTE + 7)] == ["t3"]  # a far one, moved in on time
    assert drain(queue, START + 3 * 24 * 60 * MINUTE - 1) == []
    assert [t.token for t in drain(queue, START + 3 * 24 * 60 * MINUTE)] == ["t1"]
    assert len(queue) == 0 and queue.entries == 0


def test_cancelled_far_timers_leave_at_once_and_near_ones_when_due() -> None:
    """A contact moves its model wake-up with every event: the queue must not keep every wake-up ever set."""
    queue = TimerQueue(START, near_ms=10 * MINUTE, bucket_ms=MINUTE)
    for moved in range(10_000):  # one contact's wake-up, a week out, moved 10,000 times
        due = START + 7 * 24 * 60 * MINUTE + moved * 1_000
        if moved:
            assert queue.cancel(due - 1_000, f"ml:{moved - 1}")
        queue.add(Timer(due, f"ml:{moved}", "c", "ml_label"))
    assert len(queue) == 1 and queue.entries == 1
    for moved in range(1_000):  # a near wait, set and cancelled again and again
        queue.add(Timer(START + MINUTE + moved, f"w{moved}", "d", "wait"))
        assert queue.cancel(START + MINUTE + moved, f"w{moved}")
    assert len(queue) == 1 and queue.entries == 1_001  # near garbage: skipped when due, never fired
    assert drain(queue, START + 2 * MINUTE) == []
    assert queue.entries == 1


def test_a_timer_is_moved_by_cancelling_it_at_its_due_and_adding_it_again() -> None:
    queue = TimerQueue(START, near_ms=10 * MINUTE, bucket_ms=MINUTE)
    assert queue.add(Timer(START + 1_000, "t", "c", "quiet"))
    assert not queue.add(Timer(START + 1_000, "t", "c", "quiet"))  # queued already
    assert not queue.cancel(START + 2_000, "t")  # not at that due
    assert queue.cancel(START + 1_000, "t")
    assert queue.add(Timer(START + 60 * MINUTE, "t", "c", "quiet"))  # moved out: the near entry is garbage
    assert not queue.add(Timer(START + 60 * MINUTE, "t", "c", "quiet"))
    assert drain(queue, START + 59 * MINUTE) == []
    assert drain(queue, START + 60 * MINUTE) == [Timer(START + 60 * MINUTE, "t", "c", "quiet")]
    assert not queue.cancel(START + 60 * MINUTE, "t")  # it came out: nothing to cancel
    queue.add(Timer(START + 70 * MINUTE, "u", "c", "wait"))
    assert queue.cancel(START + 70 * MINUTE, "u")
    queue.add(Timer(START + 70 * MINUTE, "u", "c", "wait"))  # cancelled, then set again at the same due
    assert drain(queue, START + 80 * MINUTE) == [Timer(START + 70 * MINUTE, "u", "c", "wait")]
    assert len(queue) == 0 and queue.entries == 0


@pytest.mark.parametrize(("seed", "near_ms"), [(1, 10 * MINUTE), (2, 10 * MINUTE), (3, 0)])
def test_random_adds_cancels_and_ticks_match_a_plain_reference(seed: int, near_ms: int) -> None:
    """Against the obvious model (a dict of live timers; each tick fires those due, by (due, token)), over
    dues from seconds to days ahead and a clock that sometimes jumps by hours."""
    rng = random.Random(seed)
    queue = TimerQueue(START, near_ms=near_ms, bucket_ms=MINUTE)
    live: dict[str, Timer] = {}
    now = START
    fired: list[Timer] = []
    expected: list[Timer] = []
    for _ in range(20_000):
        roll = rng.random()
        if roll < 0.5:
            token = f"t{rng.randrange(3_000)}"
            due = now + rng.choice([rng.randrange(1, 5_000), rng.randrange(MINUTE, 30 * MINUTE),
                                    rng.randrange(MINUTE, 5 * 24 * 60 * MINUTE)])  # fmt: skip
            if token in live:  # moved, as the processor moves it
                assert queue.cancel(live[token].due, token)
            timer = Timer(due, token, "c" + token, "wait")
            assert queue.add(timer)
            live[token] = timer
        elif roll < 0.8 and live:
            token = rng.choice(sorted(live))
            assert queue.cancel(live[token].due, token)
            del live[token]
        else:
            now += rng.choice([rng.randrange(0, 2_000), rng.randrange(MINUTE, 6 * 60 * MINUTE)])
            fired.extend(drain(queue, now))
            now_due = sorted((t for t in live.values() if t.due <= now), key=lambda t: (t.due, t.token))
            expected.extend(now_due)
            for timer in now_due:
                del live[timer.token]
        assert len(queue) == len(live)
    now += 10 * 24 * 60 * MINUTE  # past every due: all fire, and no garbage is left behind
    fired.extend(drain(queue, now))
    expected.extend(sorted(live.values(), key=lambda t: (t.due, t.token)))
    assert fired == expected
    assert len(fired) > 1_000
    assert len(queue) == 0 and queue.entries == 0
