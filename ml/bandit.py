"""Channel choice: Thompson sampling over channels (email, sms, push) per segment.

Each (segment, channel) keeps a Beta(successes + 1, failures + 1) posterior of its response rate. To
choose, draw one rate from each channel's posterior and take the largest: channels that look good are
used more, uncertain ones still get tried. Rewards come from outcome events (``reward_for``): a send is
a trial, the best outcome it led to (opened, clicked, converted) is its reward in 0..1, added to the
successes and its complement to the failures.

Deterministic given the seed: all draws come from one ``random.Random(seed)``, which is pickled with the
bandit, so a restored bandit continues the same sequence.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from ml.exceptions import MLConfigError, UnknownArmError

CHANNELS = ("email", "sms", "push")
OUTCOME_REWARDS = {
    "opened": 0.3,
    "clicked": 0.7,
    "converted": 1.0,
}


def reward_for(outcomes: Iterable[str]) -> float:
    """The reward of a send from the outcomes it led to (their best; 0 when none).

    Outcome names are the last part of the event type: ``email.opened`` / ``push.opened`` -> opened,
    ``*.clicked`` -> clicked, ``purchase`` or ``converted`` -> converted."""
    best = 0.0
    for outcome in outcomes:
        name = "converted" if outcome in ("purchase", "converted") else outcome.rsplit(".", 1)[-1]
        best = max(best, OUTCOME_REWARDS.get(name, 0.0))
    return best


class ThompsonBandit:
    """Per-segment Beta-Bernoulli Thompson sampling over a fixed list of channels."""

    def __init__(self, channels: Sequence[str] = CHANNELS, seed: int = 0) -> None:
        if not channels or len(set(channels)) != len(channels):
            raise MLConfigError("a bandit needs at least one channel and no duplicates")
        self.channels = tuple(channels)
        self.rng = random.Random(seed)
        self.posteriors: dict[str, dict[str, list[float]]] = {}  # segment -> channel -> [alpha, beta]

    def _segment(self, segment: str) -> dict[str, list[float]]:
        found = self.posteriors.get(segment)
        if found is None:
            found = self.posteriors[segment] = {channel: [1.0, 1.0] for channel in self.channels}
        return found

    def choose(self, segment: str, allowed: Sequence[str] | None = None) -> str:
        """The channel to use for a contact of ``segment`` (among ``allowed``, default all)."""
        posteriors = self._segment(segment)
        candidates = self.channels if allowed is None else tuple(c for c in self.channels if c in allowed)
        if not candidates:
            raise MLConfigError("none of the allowed channels is known to the bandit")
        best, best_draw = candidates[0], -1.0
        for channel in candidates:
            alpha, beta = posteriors[channel]
            draw = self.rng.betavariate(alpha, beta)
            if draw > best_draw:
                best, best_draw = channel, draw
        return best

    def update(self, segment: str, channel: str, reward: float) -> None:
        """Record one send on ``channel`` whose outcome earned ``reward`` (clamped to 0..1)."""
        if channel not in self.channels:
            raise UnknownArmError(channel)
        clamped = min(1.0, max(0.0, reward))
        posterior = self._segment(segment)[channel]
        posterior[0] += clamped
        posterior[1] += 1.0 - clamped

    def mean_rates(self, segment: str) -> dict[str, float]:
        """Posterior mean response rate of each channel in ``segment``."""
        return {c: a / (a + b) for c, (a, b) in self._segment(segment).items()}
