"""The interface every channel implements: try one action once, say what happened."""

from __future__ import annotations

from typing import Protocol

from sinks.records import Action, Delivery


class ChannelHandler(Protocol):
    """One channel's executor.

    ``handle`` makes one attempt. It returns a Delivery on success, raises RetryableFailure when trying
    again may help and PermanentFailure when it cannot; any other exception counts as retryable.
    ``start`` fails with SinkConfigError when the channel is not configured.
    """

    channel: str

    async def start(self) -> None: ...

    async def handle(self, action: Action, attempt: int) -> Delivery: ...

    async def close(self) -> None: ...
