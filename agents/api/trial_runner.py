"""Run one simulate or backtest off the worker's event loop, within its caps.

Each trial runs in a child process forked from a small preloaded server (multiprocessing's forkserver), so
a heavy trial neither blocks the event loop nor holds the worker's GIL: the worker keeps processing events
meanwhile. The child has an address-space limit; the parent kills it at the wall-time limit. Contacts are
simulated one at a time and the step and action totals checked after each; a trial over a cap ends with a
422 naming the limit. One trial runs at a time per worker; others wait for their turn (within the request
time limit).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from multiprocessing.connection import Connection
from typing import Any

from agents.api.config import TrialLimits
from agents.api.exceptions import ApiError
from agents.api.trials import limit_error
from engine.types import Event

CHILD_MEMORY_BYTES = 2 * 1024**3
_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["agents.api.trials"])
_TURN: asyncio.Semaphore | None = None


def check_size(events: list[Event], limits: TrialLimits) -> None:
    """Refuse (400) a trial with more events or contacts than the caps, before any work."""
    if len(events) > limits.max_events:
        raise limit_error(400, "max_events", limits.max_events, f"{len(events)} events")
    contacts = len({event["contact_id"] for event in events})
    if contacts > limits.max_contacts:
        raise limit_error(400, "max_contacts", limits.max_contacts, f"{contacts} contacts")


async def run_capped(definition: dict[str, Any], events: list[Event], until: int, limits: TrialLimits) -> Any:
    """The trial's result (see agents.api.trials.run_trial_capped), computed in a child process."""
    global _TURN
    check_size(events, limits)
    if _TURN is None:
        _TURN = asyncio.Semaphore(1)
    async with _TURN:
        return await asyncio.to_thread(_run_in_child, definition, events, until, limits)


def _run_in_child(definition: dict[str, Any], events: list[Event], until: int, limits: TrialLimits) -> Any:
    receive, send = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(target=_child, args=(send, definition, events, until, limits), daemon=True)
    child.start()
    send.close()
    try:
        if not receive.poll(limits.wall_time_s):
            raise limit_error(422, "wall_time_s", limits.wall_time_s, "the trial's running time")
        try:
            outcome = receive.recv()
        except EOFError:
            raise limit_error(
                422, "memory_bytes", CHILD_MEMORY_BYTES, "the trial crashed or its memory"
            ) from None
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join()
    if outcome[0] == "error":
        _, status, code, message, details = outcome
        raise ApiError(status, code, message, details)
    return outcome[1]


def _child(send: Connection, definition: dict[str, Any], events: list[Event], until: int,
           limits: TrialLimits) -> None:  # fmt: skip
    from agents.api.trials import run_trial_capped, trial_workflows

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
    started = time.monotonic()
    try:
        result = run_trial_capped(trial_workflows(definition), events, until, limits, started)
        send.send(("ok", result))
    except ApiError as exc:
        send.send(("error", exc.status, exc.code, exc.message, exc.details))
    except MemoryError:
        error = limit_error(422, "memory_bytes", CHILD_MEMORY_BYTES, "the trial's memory")
        send.send(("error", error.status, error.code, error.message, error.details))
    finally:
        send.close()
