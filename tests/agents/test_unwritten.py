"""The processor's record of what it computed and has not written (agents/unwritten.py)."""

from __future__ import annotations

from agents.unwritten import Unwritten


def test_a_state_leaves_when_its_own_batch_writes_it_not_when_an_older_one_does() -> None:
    unwritten = Unwritten()
    first, second = b'{"n":1}', b'{"n":2}'
    unwritten.stage("c1", first)
    unwritten.stage("c1", second)  # the next batch changed the contact again before the first was written
    unwritten.state_written("c1", first)
    assert unwritten.states == {"c1": second}
    unwritten.state_written("c1", bytes(bytearray(second)))  # equal bytes of another batch: not this entry
    assert unwritten.states == {"c1": second}
    unwritten.state_written("c1", second)
    assert unwritten.states == {}


def test_progress_is_the_highest_offset_computed_until_the_store_holds_it() -> None:
    unwritten = Unwritten()
    assert unwritten.progress(0, None) is None
    assert unwritten.progress(0, 7) == 7
    unwritten.stage_offset(0, 20)
    unwritten.stage_offset(0, 12)  # re-deliveries below it do not move it back
    assert unwritten.progress(0, None) == 20
    assert unwritten.progress(0, 30) == 30
    unwritten.offset_written(0, 15)  # an older batch's write: the computed offset is still ahead
    assert unwritten.offsets == {0: 20}
    unwritten.offset_written(0, 20)
    assert unwritten.offsets == {}
    assert unwritten.progress(0, 20) == 20


def test_clear_forgets_everything() -> None:
    unwritten = Unwritten()
    unwritten.stage("c1", b"{}")
    unwritten.stage_offset(3, 4)
    unwritten.clear()
    assert unwritten.states == {} and unwritten.offsets == {} and unwritten.progress(3, None) is None
