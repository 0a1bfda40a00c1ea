"""The wake-ups a contact's state is waiting for, read off the state.

The runtime stores these in its timers table; because they are derived from the state, a wait that
the step machine replaced or ended simply disappears from the list (its token is no longer expected).
"""

from __future__ import annotations

from engine.types import ContactState

PendingTimer = tuple[int, str, str]  # (due ms, token, kind)


def pending_timers(state: ContactState | None) -> list[PendingTimer]:
    """Every timer the state still expects, sorted by due time then token."""
    if not state:
        return []
    out: list[PendingTimer] = []
    for run in (state.get("runs") or {}).values():
        wait = run.get("wait")
        if wait:
            out.append((int(wait["due"]), str(wait["token"]), str(wait.get("kind", "wait"))))
    for slot in (state.get("armed") or {}).values():
        if "token" in slot and "due" in slot:
            out.append((int(slot["due"]), str(slot["token"]), str(slot.get("kind", "trigger"))))
    out.sort()
    return out


def same_pending(before: ContactState, after: ContactState) -> bool:
    """Whether ``after`` surely expects ``before``'s timers: the parts `pending_timers` reads are the same
    objects (the step replaces a part to change it, never edits it in place). False: compare them."""
    return before.get("runs") is after.get("runs") and before.get("armed") is after.get("armed")
