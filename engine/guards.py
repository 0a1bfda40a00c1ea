"""Settings that can hold back an action: quiet hours (contact's timezone) and frequency caps."""

from __future__ import annotations

from engine.context import StepContext
from engine.model import FrequencyCap, QuietHours
from engine.timecalc import contact_zone, in_quiet_hours, quiet_hours_end


def quiet_until(ctx: StepContext, quiet: QuietHours | None, channel: str) -> int | None:
    """When quiet hours end, if ``channel`` is in quiet hours for this contact now; else None."""
    if quiet is None or channel not in quiet.channels:
        return None
    tz = contact_zone(ctx.profile["attrs"])
    if not in_quiet_hours(ctx.now, quiet.start, quiet.end, tz):
        return None
    return quiet_hours_end(ctx.now, quiet.end, tz)


def cap_reached(ctx: StepContext, caps: tuple[FrequencyCap, ...], channel: str) -> FrequencyCap | None:
    """The first cap on ``channel`` that this contact has already reached, if any."""
    for cap in caps:
        if cap.channel != channel:
            continue
        horizon = ctx.now - cap.per_ms
        if sum(1 for ts in ctx.sent(channel) if ts > horizon) >= cap.max:
            return cap
    return None
