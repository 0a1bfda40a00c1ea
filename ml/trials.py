"""Channel trials: sends waiting in the contact's ml-state for their outcomes, closed into bandit rewards.

A send on a bandit channel (an action of the engine's step on email, sms or push) opens a trial:
``ml_state["tr"]`` is a list of ``{"a": action id, "c": channel, "g": segment, "t": sent ms, "r": reward
so far}``, oldest first, at most ``max_open``; ``ml_state["ns"]`` counts the contact's sends (the pick
of ml.hints is keyed by it). While a trial's window ``[t, t + window_ms]`` is open, the contact's outcome
events that name its action (``properties.action_id``, which our sinks and link tracking stamp on the outcomes
of our own sends) raise its reward to their best ``ml.bandit.reward_for``. An outcome that names no action,
or an action that is not an open trial, credits nothing: an ``email.opened`` of a campaign email no workflow
sent says nothing about the channel our send used, and guessing the newest send on that channel credits
whichever channel the contact hears most from elsewhere. The same holds for channel-less outcomes
(``link.clicked``, ``purchase``): they count when they name the send (a tracked link of our email does), and
an unnamed purchase credits no channel, so it cannot favour one over another.

A trial closes, and becomes one bandit update (segment, channel, reward), when:

- its window has passed, as seen by a later event of the contact or by its ml wake-up (ml.scoring keeps
  one due at ``next_close``);
- the sink reports the send failed (``<channel>.failed``, ``email.bounced`` naming the action): at once,
  with what it earned so far (nothing, normally);
- a newer send pushes it out of the bound: with what it earned so far (a later outcome on its channel
  would have gone to the newer send anyway).

Pure: functions return new lists and dicts and never modify their inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from engine.types import Event
from ml.bandit import CHANNELS, reward_for
from ml.clock import HOUR_MS
from ml.exceptions import MLConfigError
from ml.state import MLState

Trial = dict[str, Any]
# the outcome events that reward a trial (when they name its action)
OUTCOME_TYPES = frozenset(
    {"email.opened", "email.clicked", "email.replied", "push.opened", "push.clicked", "sms.clicked",
     "link.clicked", "purchase"}
)  # fmt: skip
FAILURE_TYPES = frozenset({"email.failed", "email.bounced", "sms.failed", "push.failed"})


@dataclass(frozen=True)
class TrialConfig:
    window_ms: int = 72 * HOUR_MS
    max_open: int = 5
    channels: tuple[str, ...] = CHANNELS

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.max_open < 1:
            raise MLConfigError("the attribution window must be positive and max_open at least 1")


class Closed(NamedTuple):
    """A trial that is over: the bandit learns (segment, channel, reward)."""

    segment: str
    channel: str
    reward: float
    action_id: str
    sent_ts: int
    why: str  # "window", "failed" or "bounded"


def update(
    ml_state: MLState,
    event: Event,
    now: int,
    actions: Sequence[dict[str, Any]],
    segment: str,
    config: TrialConfig,
) -> tuple[MLState, Sequence[Closed]]:
    """The ml-state after ``event`` and the ``actions`` the engine emitted for it, as far as trials go
    (``ml_state`` itself when nothing changed; ``"tr"`` is dropped once empty), and the trials that
    closed."""
    trials: list[Trial] = ml_state.get("tr") or []
    if not actions:
        if not trials:
            return ml_state, ()
        etype = event["type"]
        quiet = etype not in OUTCOME_TYPES and etype not in FAILURE_TYPES
        if quiet and _oldest(trials) >= now - config.window_ms:
            return ml_state, ()  # the common case: an event that neither rewards nor closes a trial
    closed: list[Closed] = []
    kept = trials
    if trials:
        kept = _attribute(kept, event, config.window_ms)
        kept = _fail(kept, event, closed)
    opened = 0
    if actions:
        kept, opened = _open(kept, actions, segment, now, config, closed)
    if kept:
        kept = _close_due(kept, now, config, closed)
    if kept is trials:
        return ml_state, closed
    out = {**ml_state, "tr": kept}
    if not kept:
        del out["tr"]
    if opened:
        out["ns"] = ml_state.get("ns", 0) + opened
    return out, closed


def next_close(ml_state: MLState, config: TrialConfig) -> int | None:
    """When the oldest open trial's window has passed (its close is due), or None without trials."""
    trials: list[Trial] = ml_state.get("tr") or []
    return _oldest(trials) + config.window_ms + 1 if trials else None


def _oldest(trials: list[Trial]) -> int:
    oldest: int = trials[0]["t"]
    for trial in trials:
        if trial["t"] < oldest:
            oldest = trial["t"]
    return oldest


def _attribute(trials: list[Trial], event: Event, window_ms: int) -> list[Trial]:
    etype = event["type"]
    if etype not in OUTCOME_TYPES:
        return trials
    named = event["properties"].get("action_id")
    if not isinstance(named, str):
        return trials  # an outcome of no send of ours, or of one we cannot tell: credits no trial
    target = next((i for i, trial in enumerate(trials) if trial["a"] == named), None)
    if target is None:
        return trials
    trial = trials[target]
    reward = reward_for((etype,))
    # an outcome of a send whose window has passed is late; one stamped before the send is not its outcome
    if not trial["t"] <= event["ts"] <= trial["t"] + window_ms or reward <= trial["r"]:
        return trials
    return [*trials[:target], {**trial, "r": reward}, *trials[target + 1 :]]


def _fail(trials: list[Trial], event: Event, closed: list[Closed]) -> list[Trial]:
    if event["type"] not in FAILURE_TYPES:
        return trials
    named = event["properties"].get("action_id")
    if not isinstance(named, str):
        return trials
    for index, trial in enumerate(trials):
        if trial["a"] == named:
            closed.append(_closed(trial, "failed"))
            return [*trials[:index], *trials[index + 1 :]]
    return trials


def _open(
    trials: list[Trial],
    actions: Sequence[dict[str, Any]],
    segment: str,
    now: int,
    config: TrialConfig,
    closed: list[Closed],
) -> tuple[list[Trial], int]:
    """(trials with one more per new send of ``actions``, how many were opened)."""
    known = {trial["a"] for trial in trials}
    out: list[Trial] | None = None
    for action in actions:
        action_id, channel = action.get("action_id"), action.get("channel")
        if channel not in config.channels or not isinstance(action_id, str) or action_id in known:
            continue  # not a bandit channel, or the same action again (a replayed event): one trial
        known.add(action_id)
        if out is None:
            out = list(trials)
        out.append({"a": action_id, "c": channel, "g": segment, "t": now, "r": 0.0})
    if out is None:
        return trials, 0
    opened = len(out) - len(trials)
    while len(out) > config.max_open:
        closed.append(_closed(out.pop(0), "bounded"))
    return out, opened


def _close_due(trials: list[Trial], now: int, config: TrialConfig, closed: list[Closed]) -> list[Trial]:
    ends = now - config.window_ms  # a trial sent before this has had its whole window
    if _oldest(trials) >= ends:
        return trials
    kept: list[Trial] = []
    for trial in trials:
        if trial["t"] < ends:
            closed.append(_closed(trial, "window"))
        else:
            kept.append(trial)
    return kept


def _closed(trial: Trial, why: str) -> Closed:
    return Closed(trial["g"], trial["c"], float(trial["r"]), trial["a"], trial["t"], why)
