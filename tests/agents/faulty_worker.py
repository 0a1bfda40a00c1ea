"""TEST ONLY: `python -m tests.agents.faulty_worker worker` runs the real worker with faults injected.

- an event of type `test.engine_fault` makes the engine's `step` raise, as an engine bug would;
- an event of type `test.scoring_fault` makes the predictive models raise, as a model bug would;
- with `SWITCHYARD_TEST_SEEK_DELAY_S` set, the consumer's seek to the committed offsets, which recovery
  makes after it has resumed fetching, waits that long first, as on a loaded machine: the records fetched
  meanwhile are buffered when recovery then resumes the flow.

Everything else is the unchanged worker (`switchyard worker`), so the tests see how the processor isolates
such failures in a real process against the real broker.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

ENGINE_FAULT = "test.engine_fault"
SCORING_FAULT = "test.scoring_fault"
SEEK_DELAY = "SWITCHYARD_TEST_SEEK_DELAY_S"


def install() -> None:
    import agents.processor as processor
    from agents.scoring import Predictions

    real_step = processor.engine_step  # type: ignore[attr-defined]
    real_observe = Predictions.observe

    def faulty_step(state: Any, event: Any, workflows: Any, now: int, hints: Any = None) -> Any:
        if event["type"] == ENGINE_FAULT:
            raise RuntimeError("injected engine fault")
        return real_step(state, event, workflows, now, hints)

    def faulty_observe(self: Predictions, state: Any, event: Any, actions: Sequence[Any] = ()) -> Any:
        if event["type"] == SCORING_FAULT:
            raise ValueError("injected scoring fault")
        return real_observe(self, state, event, actions)

    setattr(processor, "engine_step", faulty_step)  # noqa: B010 - the seam the processor calls
    Predictions.observe = faulty_observe  # type: ignore[method-assign]

    seek_delay_s = float(os.environ.get(SEEK_DELAY, "0"))
    if seek_delay_s > 0:
        from agents.consumer import SafeConsumer

        real_seek_to_committed = SafeConsumer.seek_to_committed

        async def slow_seek_to_committed(self: SafeConsumer) -> Any:
            await asyncio.sleep(seek_delay_s)
            return await real_seek_to_committed(self)

        SafeConsumer.seek_to_committed = slow_seek_to_committed  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    from switchyard.cli import main

    raise SystemExit(main(sys.argv[1:]))
