"""Channel choice: Thompson sampling over channels (email, sms, push) per segment.

Each (segment, channel) keeps a Beta(successes + 1, failures + 1) posterior of its response rate. To
choose, draw one rate from each channel's posterior and take the largest: channels that look good are
used more, uncertain ones still get tried. Rewards come from outcome events (``reward_for``): a send is
a trial, the best outcome it led to (opened, clicked or replied, converted) is its reward in 0..1, added
to the successes and its complement to the failures (ml.trials turns sends and outcomes into updates).

Two ways to draw:
- ``choose``: draws from one ``random.Random(seed)``, pickled with the bandit, so a restored bandit
  continues the same sequence (a simulation's loop);
- ``pick``: per contact, deterministic in (segment posterior, key). Each segment keeps a table of
  ``TABLE_ROWS`` rows of draws (one rate per channel) taken from its posterior; a contact's key (a hash
  of contact and sends so far) selects a row, and the best allowed channel of that row is the pick. A row
  is one posterior sample, so a pick is a Thompson draw; the table is redrawn, from an RNG seeded by
  (segment, updates), once the segment has seen ``max(REDRAW_MIN, REDRAW_SHARE x updates)`` updates
  since it was drawn, so picks follow the posterior while costing a lookup instead of three Beta draws.

Segments are free-form strings (ml.bandit.segment_of); past ``MAX_SEGMENTS`` new ones share ``ALL``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from hashlib import blake2b
from typing import Any, ClassVar

from ml.attributes import attribute_state, set_attributes
from ml.exceptions import MLConfigError, UnknownArmError

CHANNELS = ("email", "sms", "push")
OUTCOME_REWARDS = {
    "opened": 0.3,
    "clicked": 0.7,
    "replied": 0.7,
    "converted": 1.0,
}
ALL = "all"
MAX_SEGMENTS = 1000
MAX_SEGMENT_CHARS = 64
TABLE_ROWS = 64
REDRAW_MIN = 8
REDRAW_SHARE = 0.1


def reward_for(outcomes: Iterable[str]) -> float:
    """The reward of a send from the outcomes it led to (their best; 0 when none).

    Outcome names are the last part of the event type: ``email.opened`` / ``push.opened`` -> opened,
    ``*.clicked`` -> clicked, ``email.replied`` -> replied, ``purchase`` or ``converted`` -> converted."""
    best = 0.0
    for outcome in outcomes:
        name = "converted" if outcome in ("purchase", "converted") else outcome.rsplit(".", 1)[-1]
        best = max(best, OUTCOME_REWARDS.get(name, 0.0))
    return best


def segment_of(attrs: Mapping[str, Any]) -> str:
    """The contact's bandit segment: its ``segment`` attribute, else its ``plan``, else ``"all"``. A value
    longer than ``MAX_SEGMENT_CHARS`` stands as a digest of it: the segment is copied into the contact's
    open trials and hints, and a long one would push the state past its size limit."""
    for name in ("segment", "plan"):
        value = attrs.get(name)
        if isinstance(value, str) and value:
            if len(value) > MAX_SEGMENT_CHARS:
                return "#" + blake2b(value.encode(errors="surrogatepass"), digest_size=8).hexdigest()
            return value
    return ALL


class DrawTable:
    """``TABLE_ROWS`` posterior samples of one segment, drawn when the segment had seen ``updates``."""

    def __init__(self, updates: int, rows: list[tuple[float, ...]]) -> None:
        self.updates = updates
        self.rows = rows

    def __reduce__(self) -> tuple[Any, ...]:
        return DrawTable, (self.updates, self.rows)  # by its constructor: see ThompsonBandit.__reduce__


class ThompsonBandit:
    """Per-segment Beta-Bernoulli Thompson sampling over a fixed list of channels."""

    PICKLED: ClassVar[tuple[str, ...]] = ("channels", "seed", "rng", "posteriors", "updates", "tables")

    def __init__(self, channels: Sequence[str] = CHANNELS, seed: int = 0) -> None:
        if not channels or len(set(channels)) != len(channels):
            raise MLConfigError("a bandit needs at least one channel and no duplicates")
        self.channels = tuple(channels)
        self.seed = seed
        self.rng = random.Random(seed)
        self.posteriors: dict[str, dict[str, list[float]]] = {}  # segment -> channel -> [alpha, beta]
        self.updates: dict[str, int] = {}  # segment -> updates recorded
        self.tables: dict[str, DrawTable] = {}  # segment -> draws for ``pick``

    def __getstate__(self) -> dict[str, Any]:
        return attribute_state(self, self.PICKLED)

    def __reduce__(self) -> tuple[Any, ...]:
        # Made by its constructor, then given its state: pickle's default makes an instance without
        # calling it, and a class compiled by mypyc calls its constructor then, without arguments.
        return ThompsonBandit, (self.channels, self.seed), self.__getstate__()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # checkpoints written before picks existed have no update counts or tables
        set_attributes(self, {"seed": 0, "updates": {}, "tables": {}, **state}, self.PICKLED)

    def segment_key(self, segment: str) -> str:
        """``segment``, or ``ALL`` when ``MAX_SEGMENTS`` others are known already (posteriors fill when
        a trial closes, draw tables for every contact picked for: both are bounded)."""
        if segment in self.posteriors or segment in self.tables:
            return segment
        if len(self.posteriors) < MAX_SEGMENTS and len(self.tables) < MAX_SEGMENTS:
            return segment
        return ALL

    def _segment(self, segment: str) -> dict[str, list[float]]:
        key = self.segment_key(segment)
        found = self.posteriors.get(key)
        if found is None:
            found = self.posteriors[key] = {channel: [1.0, 1.0] for channel in self.channels}
        return found

    def _candidates(self, allowed: Iterable[str] | None) -> tuple[str, ...]:
        if allowed is None:
            return self.channels
        wanted = set(allowed)
        candidates = tuple(channel for channel in self.channels if channel in wanted)
        if not candidates:
            raise MLConfigError("none of the allowed channels is known to the bandit")
        return candidates

    def choose(self, segment: str, allowed: Sequence[str] | None = None) -> str:
        """The channel to use for a contact of ``segment`` (among ``allowed``, default all), drawn from
        the bandit's own RNG."""
        posteriors = self._segment(segment)
        best, best_draw = "", -1.0
        for channel in self._candidates(allowed):
            alpha, beta = posteriors[channel]
            draw = self.rng.betavariate(alpha, beta)
            if draw > best_draw:
                best, best_draw = channel, draw
        return best

    def table(self, segment: str) -> DrawTable:
        """The segment's current draw table, redrawn first when the posterior has moved enough."""
        key = self.segment_key(segment)
        updates = self.updates.get(key, 0)
        table = self.tables.get(key)
        if table is not None and updates < table.updates + max(REDRAW_MIN, REDRAW_SHARE * table.updates):
            return table
        raw = "\x1f".join(("draws", str(self.seed), key, str(updates))).encode()
        rng = random.Random(int.from_bytes(blake2b(raw, digest_size=8).digest(), "big"))
        posteriors = self.posteriors.get(key)
        params = [posteriors[c] if posteriors else (1.0, 1.0) for c in self.channels]
        rows = [tuple(rng.betavariate(alpha, beta) for alpha, beta in params) for _ in range(TABLE_ROWS)]
        table = self.tables[key] = DrawTable(updates, rows)
        return table

    def pick(self, segment: str, key: int, allowed: Iterable[str] | None = None) -> tuple[str, int]:
        """(channel, the table's ``updates``) for a contact whose pick key is ``key``: the best allowed
        channel of row ``key % TABLE_ROWS`` of the segment's table (ties: the first channel)."""
        table = self.table(segment)
        row = table.rows[key % TABLE_ROWS]
        best, best_draw = "", -1.0
        for index, channel in enumerate(self.channels):
            if allowed is not None and channel not in allowed:
                continue
            if row[index] > best_draw:
                best, best_draw = channel, row[index]
        if not best:
            raise MLConfigError("none of the allowed channels is known to the bandit")
        return best, table.updates

    def update(self, segment: str, channel: str, reward: float) -> None:
        """Record one send on ``channel`` whose outcome earned ``reward`` (clamped to 0..1)."""
        if channel not in self.channels:
            raise UnknownArmError(channel)
        clamped = min(1.0, max(0.0, reward))
        posterior = self._segment(segment)[channel]
        posterior[0] += clamped
        posterior[1] += 1.0 - clamped
        key = self.segment_key(segment)
        self.updates[key] = self.updates.get(key, 0) + 1

    def mean_rates(self, segment: str) -> dict[str, float]:
        """Posterior mean response rate of each channel in ``segment``."""
        return {c: a / (a + b) for c, (a, b) in self._segment(segment).items()}
