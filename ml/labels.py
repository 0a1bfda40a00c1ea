"""Late labels: feature snapshots wait in the contact's ml-state until their label windows close.

At scoring time a snapshot ``{"t": ms, "x": [features], "p": [churn score, convert score], "conv": None,
"churn": None, "ce": False, "he": False}`` may be added to ``ml_state["pend"]`` (at most one per
``snapshot_every_ms``, at most ``max_pending``). Its labels:

- conversion: 1 when a purchase stamped in ``(t, t + convert window]`` arrives, else 0;
- churn: 0 when any activity stamped in ``(t, t + churn window]`` arrives, else 1 (silence).

A label is *decided* as soon as an event settles it, but *released* to the model (a ``Resolved``) only
when its window closes, as seen on any later event of the contact or on the durable wake-up this module
asks for (``{"due", "token", "kind": "ml_label", ...}``, the engine's timer-request shape), so a contact
that goes silent still resolves. Releasing at window close makes the model learn in snapshot order:
released on decision, the quick labels (a purchase, a return) reached the model weeks ahead of the
slow ones (no purchase, silence) and biased it (about -0.02 prequential AUC on the generator). It costs
label latency, not state: a snapshot is kept until its churn window closes in either case. ``ce`` /
``he`` mark the conversion / churn label as released. A snapshot's features are fixed when it is taken,
so nothing that happens later can leak into them.

Pure: every function returns new dicts and lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b
from typing import Any, NamedTuple

from engine.types import Event
from ml.activity import is_activity
from ml.clock import DAY_MS
from ml.exceptions import MLConfigError
from ml.state import MLState

ML_TIMER_KIND = "ml_label"
CHURN = "churn_risk"
CONVERT = "likely_to_convert"
MODEL_NAMES = (CHURN, CONVERT)


@dataclass(frozen=True)
class LabelConfig:
    convert_window_ms: int = 14 * DAY_MS
    churn_window_ms: int = 30 * DAY_MS
    snapshot_every_ms: int = 2 * DAY_MS
    max_pending: int = 16

    def __post_init__(self) -> None:
        if min(self.convert_window_ms, self.churn_window_ms, self.snapshot_every_ms) <= 0:
            raise MLConfigError("label windows and the snapshot spacing must be positive")
        if self.max_pending < 1:
            raise MLConfigError("max_pending must be at least 1")


class Resolved(NamedTuple):
    """One label that became known: the model may now learn (vector, label)."""

    model: str  # CHURN or CONVERT
    snapshot_ts: int
    vector: list[float]
    score: float  # what the model predicted at snapshot time (test-then-train)
    label: int
    resolved_ts: int


def take_snapshot(
    ml_state: MLState, now: int, vector: list[float], scores: tuple[float, float], config: LabelConfig
) -> MLState:
    """``ml_state`` with a snapshot at ``now`` added, when spacing and the bound allow it."""
    snapshot = new_snapshot(ml_state, now, vector, scores, config)
    if snapshot is None:
        return ml_state
    return {**ml_state, "pend": [*(ml_state.get("pend") or []), snapshot], "ls": now}


def new_snapshot(
    ml_state: MLState, now: int, vector: list[float], scores: tuple[float, float], config: LabelConfig
) -> dict[str, Any] | None:
    """The snapshot ``take_snapshot`` would add (to ``"pend"``, with ``"ls"`` = ``now``), or None."""
    last = ml_state.get("ls")
    if last is not None and now - last < config.snapshot_every_ms:
        return None
    if len(ml_state.get("pend") or ()) >= config.max_pending:
        return None
    return {
        "t": now,
        "x": vector,
        "p": [scores[0], scores[1]],
        "conv": None,
        "churn": None,
        "ce": False,
        "he": False,
    }


def resolve(
    ml_state: MLState, event: Event | None, now: int, config: LabelConfig
) -> tuple[MLState, list[Resolved]]:
    """Decide what ``event`` (None for a bare wake-up) settles, and release the labels whose windows
    have closed by ``now``."""
    pending: list[dict[str, Any]] = ml_state.get("pend") or []
    if not pending:
        return ml_state, []
    kept, out = resolve_pending(pending, event, now, config)
    if kept is pending:
        return ml_state, out
    return {**ml_state, "pend": kept}, out


def resolve_pending(
    pending: list[dict[str, Any]], event: Event | None, now: int, config: LabelConfig
) -> tuple[list[dict[str, Any]], list[Resolved]]:
    """``resolve`` on the pending list itself: (the list after ``event`` - ``pending`` itself when
    nothing changed -, the released labels)."""
    etype = event["type"] if event is not None else None
    active = etype is not None and is_activity(etype)
    bought = etype == "purchase"
    ts = event["ts"] if event is not None else now
    convert_window, churn_window = config.convert_window_ms, config.churn_window_ms
    out: list[Resolved] = []
    kept: list[dict[str, Any]] = []
    changed = False
    for snapshot in pending:
        t = snapshot["t"]
        conv, churn, conv_out, churn_out = snapshot["conv"], snapshot["churn"], snapshot["ce"], snapshot["he"]
        convert_end, churn_end = t + convert_window, t + churn_window
        dirty = False
        if conv is None and bought and t < ts <= convert_end:
            conv, dirty = 1, True
        if churn is None and active and t < ts <= churn_end:
            churn, dirty = 0, True
        if not conv_out and convert_end < now:
            conv_out = dirty = True
            out.append(Resolved(CONVERT, t, snapshot["x"], snapshot["p"][1], conv or 0, now))
        if not churn_out and churn_end < now:
            churn_out = dirty = True
            out.append(
                Resolved(CHURN, t, snapshot["x"], snapshot["p"][0], 1 if churn is None else churn, now)
            )
        if conv_out and churn_out:
            changed = True
            continue
        if dirty:
            changed = True
            snapshot = {**snapshot, "conv": conv, "churn": churn, "ce": conv_out, "he": churn_out}
        kept.append(snapshot)
    return (kept if changed else pending), out


def next_label_due(ml_state: MLState, config: LabelConfig) -> int | None:
    """The earliest time at which a pending label's window closes."""
    due: int | None = None
    convert_window, churn_window = config.convert_window_ms + 1, config.churn_window_ms + 1
    for snapshot in ml_state.get("pend") or ():
        if not snapshot["ce"]:
            closes = snapshot["t"] + convert_window
            if due is None or closes < due:
                due = closes
        if not snapshot["he"]:
            closes = snapshot["t"] + churn_window
            if due is None or closes < due:
                due = closes
    return due


def timer_token(contact_id: str, due: int) -> str:
    raw = "\x1f".join(("ml", ML_TIMER_KIND, contact_id, str(due))).encode()
    return blake2b(raw, digest_size=12).hexdigest()


def schedule(
    ml_state: MLState, contact_id: str, due: int | None, *, trials_only: bool = False
) -> tuple[MLState, list[dict[str, Any]]]:
    """Keep one ml wake-up per contact at ``due``: returns the state (``"tm"`` updated) and the timer
    request to store when it changed (none when it did not, or when nothing is due). ``trials_only``
    marks a wake-up that only closes channel trials (``"o"``): it does not re-score (ml.scoring)."""
    changed, timer, requests = wakeup(ml_state.get("tm"), contact_id, due, trials_only)
    return ({**ml_state, "tm": timer}, requests) if changed else (ml_state, [])


def wakeup(
    current: dict[str, Any] | None, contact_id: str, due: int | None, trials_only: bool = False
) -> tuple[bool, dict[str, Any] | None, list[dict[str, Any]]]:
    """``schedule`` on the ``"tm"`` value itself: (changed, the new value, the timer requests)."""
    if due is None:
        return (True, None, []) if current else (False, current, [])
    if current is not None and current["due"] == due:
        if bool(current.get("o")) == trials_only:
            return False, current, []
        return True, _timer(due, current["token"], trials_only), []  # same timer, other purpose
    token = timer_token(contact_id, due)
    request = {
        "due": due,
        "token": token,
        "contact_id": contact_id,
        "workflow_id": None,
        "run_id": None,
        "node_id": None,
        "kind": ML_TIMER_KIND,
    }
    return True, _timer(due, token, trials_only), [request]


def _timer(due: int, token: str, trials_only: bool) -> dict[str, Any]:
    return {"due": due, "token": token, "o": True} if trials_only else {"due": due, "token": token}


def rescores(ml_state: MLState, event: Event) -> bool:
    """Whether the ``timer.fired`` ``event`` is the contact's current ml wake-up and that one re-scores. A
    wake-up the contact moved on from (its activity moved it later) is stale, as a finished wait's timer
    is to the engine; one that only closes trials (``"o"``) does not re-score."""
    timer = ml_state.get("tm")
    props = event["properties"]
    return bool(
        timer
        and not timer.get("o")
        and props.get("kind") == ML_TIMER_KIND
        and timer["token"] == props.get("token")
    )


def same_ml_timer(before: MLState | None, after: MLState | None) -> bool:
    """Whether ``after`` surely expects ``before``'s ml wake-up: the part `pending_ml_timers` reads is the
    same object (the models replace it to change it). False: compare them."""
    return (before or {}).get("tm") is (after or {}).get("tm")


def pending_ml_timers(ml_state: MLState | None) -> list[tuple[int, str, str]]:
    """The ml wake-up the state expects, as engine.pending's (due, token, kind) tuples."""
    timer = (ml_state or {}).get("tm")
    return [(int(timer["due"]), str(timer["token"]), ML_TIMER_KIND)] if timer else []
