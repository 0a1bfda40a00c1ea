"""A second aiokafka producer, made with the settings of Faust's, for the table changelog records.

aiokafka keeps at most one produce request in flight per broker (its sender skips a node while a request
to it is outstanding), so with one producer a batch's effects waited behind the previous batch's changelog
request, which the processor lets travel while it works (agents/processor.py, `submit` and `land`). While the
broker appends slowly (in a load test's first second, 10-23 ms per request against ~0.1 ms later), that
queue put 10-40 ms on the effects of every batch. On a connection of their own, the changelog records no
longer hold up the effects, and the broker handles both requests at once.

Nothing orders the two: the effects of a batch are acknowledged before its states are written and their
changelog records are submitted (the processor awaits one, then does the other), and each changelog
partition receives records from this producer only, in the order they were submitted.

It is a child of Faust's producer service: started right after it, before the agents, and stopped with
it, after the agents have stopped and Faust has flushed its own buffer.
"""

from __future__ import annotations

from typing import Any

from mode import Service

from agents.exceptions import NotStarted


class SideProducer(Service):
    def __init__(self, app: Any, **kwargs: Any) -> None:
        self.app = app
        self._producer: Any = None
        super().__init__(**kwargs)

    def attach(self) -> SideProducer:
        """Start and stop with the app's producer."""
        self.app.producer.add_dependency(self)
        return self

    def __call__(self) -> Any:
        """The started aiokafka producer (what agents.outbox.Outbox looks up at each flush)."""
        if self._producer is None:
            raise NotStarted("the changelog producer is not running")
        return self._producer

    async def on_start(self) -> None:
        producer = self.app.producer._new_producer()
        await producer.start()
        self._producer = producer

    async def on_stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()  # sends what is still buffered first
