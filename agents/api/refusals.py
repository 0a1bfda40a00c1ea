"""Keep what the API refuses: a request or message that cannot become an event goes to the events
dead-letter topic with its bytes and the same reason headers the worker writes, so `switchyard dlq`
lists it and can replay it once the cause is fixed."""

from __future__ import annotations

from agents.api.context import ApiContext


def refusal_headers(reason: str, detail: str, source: str) -> list[tuple[str, bytes]]:
    return [
        ("x-switchyard-reason", reason.encode()),
        ("x-switchyard-detail", detail.encode("utf-8", "replace")[:1024]),
        ("x-switchyard-source", source.encode()),
    ]


async def dead_letter(
    ctx: ApiContext, key: str | None, raw: bytes, reason: str, detail: str, source: str
) -> None:
    headers = refusal_headers(reason, detail, source)
    await ctx.kafka.send_dead_letter(ctx.dead_letter_topic, key.encode() if key else None, raw, headers)
