"""Compile the ``settings`` section: re-entry, exit criteria, quiet hours, frequency caps, limits."""

from __future__ import annotations

import re
from typing import Any, Literal

from engine.actions import CHANNELS, CONTACT_CHANNELS
from engine.compile_common import Reader
from engine.durations import DurationError, parse_duration
from engine.issues import did_you_mean
from engine.model import (
    DEFAULT_MAX_ACTIONS_PER_EVENT,
    DEFAULT_MAX_STEPS,
    ExitCriterion,
    FrequencyCap,
    QuietHours,
    Reentry,
    RunLimit,
    Settings,
)
from engine.parser import Path
from engine.timecalc import parse_time_of_day

SETTINGS_FIELDS = frozenset(
    {
        "reentry",
        "exit_when",
        "quiet_hours",
        "frequency_caps",
        "max_steps",
        "max_actions_per_event",
        "max_runs",
        "run_key",
    }
)
QUIET_FIELDS = frozenset({"start", "end", "fallback", "channels"})
CAP_FIELDS = frozenset({"max", "per"})
EXIT_FIELDS = frozenset({"event", "filter", "condition"})
_AFTER = re.compile(r"^after\s+(\S+)$")
_PROPERTY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_STEPS_LIMIT = 100_000
MAX_RUNS_LIMIT = 1_000  # the run-start times kept per workflow are bounded by this


def compile_settings(reader: Reader, value: Any, path: Path) -> Settings:
    if value is None:
        return Settings()
    mapping = reader.mapping(value, path, "settings")
    if mapping is None:
        return Settings()
    reader.check_fields(mapping, path, SETTINGS_FIELDS, "settings")
    reentry, reentry_after = _reentry(reader, mapping.get("reentry", "never"), (*path, "reentry"))
    max_steps = reader.integer(mapping, "max_steps", path, "settings", minimum=1) or DEFAULT_MAX_STEPS
    max_actions = (
        reader.integer(mapping, "max_actions_per_event", path, "settings", minimum=1)
        or DEFAULT_MAX_ACTIONS_PER_EVENT
    )
    if max_steps > MAX_STEPS_LIMIT:
        reader.issues.add(
            (*path, "max_steps"), f"max_steps {max_steps} is over the limit of {MAX_STEPS_LIMIT}"
        )
    return Settings(
        reentry=reentry,
        reentry_after_ms=reentry_after,
        exit_when=_exit_when(reader, mapping.get("exit_when"), (*path, "exit_when")),
        quiet_hours=compile_quiet_hours(reader, mapping.get("quiet_hours"), (*path, "quiet_hours")),
        frequency_caps=compile_caps(reader, mapping.get("frequency_caps"), (*path, "frequency_caps")),
        max_steps=max_steps,
        max_actions_per_event=max_actions,
        max_runs=_max_runs(reader, mapping.get("max_runs"), (*path, "max_runs")),
        run_key=_run_key(reader, mapping.get("run_key"), (*path, "run_key")),
    )


def _run_key(reader: Reader, value: Any, path: Path) -> str | None:
    """`run_key: cart_id`: the event property that tells one run from another (one live run per value)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _PROPERTY.match(value):
        hint = "e.g. run_key: cart_id"
        reader.issues.add(path, f"run_key must be an event property name, got {value!r}", hint)
        return None
    return value


def _max_runs(reader: Reader, value: Any, path: Path) -> RunLimit:
    """`max_runs: {max: N, per: D}`: at most N runs of this workflow per contact within D."""
    if value is None:
        return RunLimit()
    mapping = reader.mapping(value, path, "max_runs")
    if mapping is None:
        return RunLimit()
    reader.check_fields(mapping, path, CAP_FIELDS, "max_runs")
    most = reader.integer(mapping, "max", path, "max_runs", minimum=1)
    per = reader.duration(mapping, "per", path, "max_runs", required=True)
    if most is None or per is None:
        return RunLimit()
    if most > MAX_RUNS_LIMIT:
        reader.issues.add((*path, "max"), f"max {most} is over the limit of {MAX_RUNS_LIMIT}")
        return RunLimit()
    return RunLimit(most, per)


def _reentry(reader: Reader, value: Any, path: Path) -> tuple[Reentry, int]:
    hint = "use never, always, or 'after 30d'"
    if value in ("never", "always"):
        return ("never" if value == "never" else "always"), 0
    match = _AFTER.match(value.strip()) if isinstance(value, str) else None
    if match:
        try:
            return "after", parse_duration(match.group(1))
        except DurationError as err:
            reader.issues.add(path, f"re-entry: {err}", hint)
            return "never", 0
    reader.issues.add(path, f"unknown re-entry rule {value!r}", hint)
    return "never", 0


def _exit_when(reader: Reader, value: Any, path: Path) -> tuple[ExitCriterion, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    criteria: list[ExitCriterion] = []
    for index, item in enumerate(items):
        item_path = (*path, index) if isinstance(value, list) else path
        mapping = reader.mapping(item, item_path, "an exit criterion")
        if mapping is None:
            continue
        reader.check_fields(mapping, item_path, EXIT_FIELDS, "an exit criterion")
        what = "an exit criterion"
        if ("event" in mapping) == ("condition" in mapping):
            reader.issues.add(
                item_path,
                "an exit criterion needs exactly one of 'event' or 'condition'",
                "e.g. {event: unsubscribed} or {condition: \"'customer' in contact.tags\"}",
            )
            continue
        if "condition" in mapping and "filter" in mapping:
            reader.issues.add((*item_path, "filter"), "'filter' only applies to an event exit criterion")
            continue
        event_type = reader.string(mapping, "event", item_path, what)
        filter_ = reader.condition(mapping, "filter", item_path, what)
        condition = reader.condition(mapping, "condition", item_path, what)
        if event_type is not None or condition is not None:
            criteria.append(ExitCriterion(event_type, filter_, condition))
    return tuple(criteria)


def compile_quiet_hours(reader: Reader, value: Any, path: Path) -> QuietHours | None:
    if value is None:
        return None
    mapping = reader.mapping(value, path, "quiet_hours")
    if mapping is None:
        return None
    reader.check_fields(mapping, path, QUIET_FIELDS, "quiet_hours")
    times: list[int] = []
    for key in ("start", "end"):
        raw = reader.require(mapping, key, path, "quiet_hours", 'e.g. {start: "21:00", end: "08:00"}')
        if raw is None:
            continue
        try:
            times.append(parse_time_of_day(raw))
        except ValueError as err:
            reader.issues.add((*path, key), str(err))
    fallback = mapping.get("fallback", "delay")
    if fallback not in ("delay", "skip"):
        reader.issues.add(
            (*path, "fallback"), f"unknown quiet-hours fallback {fallback!r}", "use delay or skip"
        )
        return None
    channels = reader.string_list(mapping, "channels", path, "quiet_hours")
    for channel in channels or ():
        if channel not in CHANNELS:
            reader.issues.add(
                (*path, "channels"),
                f"unknown channel {channel!r}",
                did_you_mean(channel, CHANNELS) or f"channels: {', '.join(sorted(CHANNELS))}",
            )
    if len(times) != 2:
        return None
    mode: Literal["delay", "skip"] = "delay" if fallback == "delay" else "skip"
    return QuietHours(times[0], times[1], mode, frozenset(channels) if channels else CONTACT_CHANNELS)


def compile_caps(reader: Reader, value: Any, path: Path) -> tuple[FrequencyCap, ...]:
    if value is None:
        return ()
    mapping = reader.mapping(value, path, "frequency_caps")
    if mapping is None:
        return ()
    caps: list[FrequencyCap] = []
    for channel, spec in mapping.items():
        cap_path = (*path, channel)
        if channel not in CHANNELS:
            reader.issues.add(
                cap_path,
                f"unknown channel {channel!r} in frequency_caps",
                did_you_mean(str(channel), CHANNELS) or f"channels: {', '.join(sorted(CHANNELS))}",
                at_key=True,
            )
            continue
        cap = reader.mapping(spec, cap_path, f"the {channel} cap")
        if cap is None:
            continue
        reader.check_fields(cap, cap_path, CAP_FIELDS, "a frequency cap")
        most = reader.integer(cap, "max", cap_path, "a frequency cap", minimum=0)
        per = reader.duration(cap, "per", cap_path, "a frequency cap", required=True)
        if most is None:
            reader.issues.add(cap_path, "a frequency cap needs 'max'", "e.g. {max: 3, per: 7d}", at_key=True)
        if most is not None and per:
            caps.append(FrequencyCap(channel, most, per))
        elif per == 0:
            reader.issues.add((*cap_path, "per"), "'per' must be longer than zero")
    return tuple(caps)
