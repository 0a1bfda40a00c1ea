"""Faust's table manager, starting without its fixed one-second pause.

faust-streaming 0.15's `TableManager.on_start` sleeps one second before it registers the tables' changelog
channels and starts recovery, so that tables declared while the app starts (in an agent's body) are in
before the subscription is made. The worker declares all of its tables before the app starts, so the pause
only delays every start: the subscription, the group join and recovery all wait for it. It was a second of
a worker's ~4.6 s from spawn to ready, paid at every start and every restart after a crash.

A table declared once the app has started is still refused by Faust ("Too late to add tables"), not lost.
"""

from __future__ import annotations

from faust.tables.manager import TableManager


class PromptTableManager(TableManager):
    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
