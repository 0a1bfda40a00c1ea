"""StepContext: everything one step() call reads and the output it accumulates.

State is copy-on-write: the input state is never modified; a key is copied the first time it changes,
and the new state shares every part that did not change.
"""

from __future__ import annotations

from typing import Any

from engine.conditions import Scope
from engine.model import Workflow
from engine.types import ContactState, Event, Profile
from engine.windowed_counts import STATE_KEY as BUCKETS_KEY
from engine.workflows import WorkflowSet

Run = dict[str, Any]
EMPTY: dict[str, Any] = {}


def run_slot(workflow_id: str, key: Any = None) -> str:
    """Where a run lives in ``state["runs"]``: the workflow id, plus ``#<key value>`` for a keyed run
    (``settings.run_key``). Workflow ids cannot contain ``#``, so slots never collide."""
    return workflow_id if key is None else f"{workflow_id}#{key}"


def slot_of(run: Run) -> str:
    return run_slot(run["workflow_id"], run.get("key"))


class StepContext:
    __slots__ = (
        "action_count",
        "actions",
        "armed",
        "changed",
        "contact_id",
        "event",
        "input_profile",
        "now",
        "profile",
        "runs",
        "state",
        "stopped",
        "timers",
        "trace",
        "workflows",
    )

    def __init__(
        self,
        state: ContactState,
        event: Event,
        workflows: WorkflowSet,
        now: int,
        input_profile: Profile | None,
    ) -> None:
        self.state = state  # already a fresh shallow copy; top-level keys may be replaced
        self.event = event
        self.workflows = workflows
        self.now = now
        self.contact_id: str = state["contact_id"]
        self.profile: Profile = state["profile"]
        self.input_profile = input_profile
        self.runs: dict[str, Run] = state.get("runs") or EMPTY
        self.armed: dict[str, dict[str, Any]] = state.get("armed") or EMPTY
        self.changed: set[str] = set()
        self.actions: list[dict[str, Any]] = []
        self.timers: list[dict[str, Any]] = []
        self.trace: list[dict[str, Any]] = []
        self.action_count = 0
        self.stopped: set[str] = set()  # ids of runs ended during this step

    # -- state -------------------------------------------------------------------------------------

    def _own(self, key: str) -> dict[str, Any]:
        """The mutable copy of a top-level mapping of the state."""
        if key not in self.changed:
            self.changed.add(key)
            self.state[key] = dict(self.state.get(key) or EMPTY)
        value: dict[str, Any] = self.state[key]
        return value

    def set_run(self, run: Run) -> None:
        self.runs = self._own("runs")
        self.runs[slot_of(run)] = run

    def remove_run(self, slot: str, run_id: str | None = None) -> None:
        if run_id is not None:
            self.stopped.add(run_id)
        if slot in self.runs:
            self.runs = self._own("runs")
            del self.runs[slot]

    def set_armed(self, slot: str, record: dict[str, Any] | None) -> None:
        self.armed = self._own("armed")
        if record is None:
            self.armed.pop(slot, None)
        else:
            self.armed[slot] = record

    def run_starts(self, workflow_id: str) -> list[int]:
        found: list[int] = (self.state.get("run_starts") or EMPTY).get(workflow_id, [])
        return found

    def set_run_starts(self, workflow_id: str, starts: list[int]) -> None:
        self._own("run_starts")[workflow_id] = starts

    def window_hits(self, slot: str) -> list[int]:
        found: list[int] = (self.state.get("windows") or EMPTY).get(slot, [])
        return found

    def set_window_hits(self, slot: str, hits: list[int]) -> None:
        self._own("windows")[slot] = hits

    def entries(self) -> dict[str, int]:
        found: dict[str, int] = self.state.get("entries") or EMPTY
        return found

    def record_entry(self, slot: str) -> None:
        self._own("entries")[slot] = self.now

    def conds(self) -> dict[str, bool]:
        found: dict[str, bool] = self.state.get("conds") or EMPTY
        return found

    def set_cond(self, key: str, value: bool) -> None:
        self._own("conds")[key] = value

    def sent(self, channel: str) -> list[int]:
        found: list[int] = (self.state.get("sent") or EMPTY).get(channel, [])
        return found

    def record_send(self, channel: str) -> None:
        window = self.workflows.cap_windows.get(channel)
        if window is None:
            return
        # Kept for twice the window: a send up to one window late (a wake-up processed after a later
        # event's send) still finds the sends its own window holds. Cut at one window, those were gone and
        # the late send went past the cap.
        horizon = self.now - 2 * window
        kept = [ts for ts in self.sent(channel) if ts > horizon]
        kept.append(self.now)
        self._own("sent")[channel] = kept

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self.state["profile"] = profile

    def set_value(self, key: str, value: Any) -> None:
        self.state[key] = value

    # -- views -------------------------------------------------------------------------------------

    def live_workflows(self) -> frozenset[str]:
        """The ids of the workflows the contact has a live run of (keyed runs count once)."""
        return frozenset(run["workflow_id"] for run in self.runs.values())

    def scope(self, run: Run | None = None, event: Any = None) -> Scope:
        return Scope(
            contact=self.profile,
            event=self.event if event is None else event,
            run=run,
            now=self.now,
            workflows=self.live_workflows(),
            contact_id=self.contact_id,
            buckets=self.state.get(BUCKETS_KEY) or EMPTY,
        )

    # -- output ------------------------------------------------------------------------------------

    def note(
        self,
        workflow: Workflow | None,
        run: Run | None,
        node_id: str | None,
        transition: str,
        reason: str,
        **details: Any,
    ) -> None:
        entry: dict[str, Any] = {
            "ts": self.now,
            "contact_id": self.contact_id,
            "workflow_id": workflow.id if workflow is not None else details.pop("workflow_id", None),
            "version": workflow.version if workflow is not None else details.pop("version", None),
            "run_id": run["id"] if run is not None else None,
            "node_id": node_id,
            "transition": transition,
            "reason": reason,
        }
        if details:
            entry.update(details)
        self.trace.append(entry)

    def request_timer(
        self, due: int, token: str, workflow_id: str, run_id: str | None, node_id: str | None, kind: str
    ) -> None:
        self.timers.append(
            {
                "due": due,
                "token": token,
                "contact_id": self.contact_id,
                "workflow_id": workflow_id,
                "run_id": run_id,
                "node_id": node_id,
                "kind": kind,
            }
        )
