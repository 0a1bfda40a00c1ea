"""Analytics against the oracle (pure): what ClickHouse reports after a load-test run, next to the same
counts computed from the oracle's replay of the run's `events` topic. Every count must be equal.

- funnel: runs per (workflow, version, step, node, why), the `funnel` report, derived from the oracle's
  step records by the rule of the funnel rollup (sinks/analytics/sql/migrations/002_funnel_rollup.sql);
- steps: step records (distinct ids ``<source>/<seq>``) per (workflow, version, node, transition), the
  `steps` report;
- actions: distinct action ids per (workflow, version, node, channel), the `outcomes` report's `actions`;
- totals: distinct ids per table (events, step records, actions), the `tables` report.

A record the worker emitted twice (a ``kill -9`` before its state was written) carries the same id both
times, so none of these counts may grow with duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from loadtest.report import format_table

# Transitions that are a visit of their node (as the rollup counts them; `resumed` is not a visit).
VISITS = frozenset({"waited", "branched", "split", "acted", "applied", "skipped", "capped", "goal", "exited"})
SHOWN_DIFFERENCES = 20  # per check in the text table; the JSON has them all

Key = tuple[Any, ...]
IdSets = dict[Key, set[str]]


@dataclass(frozen=True)
class CountRow:
    key: Key
    oracle: int
    clickhouse: int

    @property
    def equal(self) -> bool:
        return self.oracle == self.clickhouse


@dataclass(frozen=True)
class CountCheck:
    """One kind of count, group by group: every key found on either side, in key order."""

    name: str
    what: str  # what is counted, for people
    key_names: tuple[str, ...]
    rows: list[CountRow]

    @property
    def differing(self) -> list[CountRow]:
        return [row for row in self.rows if not row.equal]

    @property
    def ok(self) -> bool:
        return not self.differing

    def total(self, side: str) -> int:
        return sum(getattr(row, side) for row in self.rows)

    def row_dict(self, row: CountRow) -> dict[str, Any]:
        return {**dict(zip(self.key_names, row.key, strict=True)), "oracle": row.oracle,
                "clickhouse": row.clickhouse}  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return {
            "what": self.what, "groups": len(self.rows), "oracle_total": self.total("oracle"),
            "clickhouse_total": self.total("clickhouse"), "ok": self.ok,
            "differing": [self.row_dict(row) for row in self.differing],
            "rows": [self.row_dict(row) for row in self.rows],
        }  # fmt: skip


def count_check(
    name: str, what: str, key_names: Sequence[str], oracle: Mapping[Key, int], clickhouse: Mapping[Key, int]
) -> CountCheck:
    keys = sorted(set(oracle) | set(clickhouse), key=lambda key: tuple(str(part) for part in key))
    rows = [CountRow(key, oracle.get(key, 0), clickhouse.get(key, 0)) for key in keys]
    return CountCheck(name, what, tuple(key_names), rows)


# -- the oracle's side ----------------------------------------------------------------------------------


def text(value: object) -> str:
    return "" if value is None else str(value)


def version_of(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def record_id(record: Mapping[str, Any]) -> str:
    return f"{record['source']}/{record['seq']}"


def funnel_steps(record: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(step, node, why) rows one step record adds its run to."""
    transition, node = record.get("transition"), text(record.get("node_id"))
    steps = []
    if transition == "entered":
        steps.append(("entered", "", ""))
    if node and transition in VISITS:
        steps.append(("reached", node, ""))
    if transition == "goal":
        steps.append(("goal", node, ""))
    if transition == "exited":
        steps.append(("exited", node, text(record.get("reason"))))
    return steps


def counted(sets: IdSets) -> dict[Key, int]:
    return {key: len(ids) for key, ids in sets.items()}


def funnel_runs(step_records: Iterable[Mapping[str, Any]]) -> dict[Key, int]:
    runs: IdSets = {}
    for record in step_records:
        run = text(record.get("run_id"))
        if not run:
            continue
        head = (text(record.get("workflow_id")), version_of(record.get("version")))
        for step in funnel_steps(record):
            runs.setdefault((*head, *step), set()).add(run)
    return counted(runs)


def step_counts(step_records: Iterable[Mapping[str, Any]]) -> dict[Key, int]:
    ids: IdSets = {}
    for record in step_records:
        key = (text(record.get("workflow_id")), version_of(record.get("version")),
               text(record.get("node_id")), text(record.get("transition")))  # fmt: skip
        ids.setdefault(key, set()).add(record_id(record))
    return counted(ids)


def action_counts(actions: Iterable[Mapping[str, Any]]) -> dict[Key, int]:
    ids: IdSets = {}
    for action in actions:
        key = (text(action.get("workflow_id")), version_of(action.get("version")),
               text(action.get("node_id")), text(action.get("channel")))  # fmt: skip
        ids.setdefault(key, set()).add(str(action["action_id"]))
    return counted(ids)


@dataclass(frozen=True)
class OracleSide:
    """What the replay says, in the shapes of the reports."""

    funnel: dict[Key, int]
    steps: dict[Key, int]
    actions: dict[Key, int]
    totals: dict[Key, int]


def oracle_side(
    step_records: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]], event_ids: Iterable[str]
) -> OracleSide:
    totals = {
        ("events",): len(set(event_ids)),
        ("step_log",): len({record_id(record) for record in step_records}),
        ("actions",): len({str(action["action_id"]) for action in actions}),
    }
    return OracleSide(funnel_runs(step_records), step_counts(step_records), action_counts(actions), totals)


# -- ClickHouse's side ------------------------------------------------------------------------------------


def keyed(rows: Iterable[Mapping[str, Any]], key_names: Sequence[str], value: str) -> dict[Key, int]:
    """Report rows as {key: count}; rows that share a key are added (none do in these reports)."""
    out: dict[Key, int] = {}
    for row in rows:
        key = tuple(row[name] for name in key_names)
        out[key] = out.get(key, 0) + int(row[value])
    return out


FUNNEL_KEY = ("workflow_id", "version", "step", "node", "why")
STEPS_KEY = ("workflow_id", "version", "node", "transition")
ACTIONS_KEY = ("workflow_id", "version", "node", "channel")
TOTALS_KEY = ("table_name",)
TOTAL_TABLES = frozenset({"events", "step_log", "actions"})


# -- the check ------------------------------------------------------------------------------------------


@dataclass
class AnalyticsCheck:
    checks: list[CountCheck] = field(default_factory=list)
    error: str = ""  # the counts could not be read (the writer died, never caught up ...)
    details: dict[str, Any] = field(default_factory=dict)  # store, writer counters, catch-up time

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.checks) and all(check.ok for check in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "error": self.error, **self.details,
                **{check.name: check.as_dict() for check in self.checks}}  # fmt: skip

    def summary(self) -> str:
        if self.error:
            return f"analytics vs oracle: NOT CHECKED: {self.error}"
        lines = [f"analytics vs oracle: {'all counts equal' if self.ok else 'COUNTS DIFFER'}"]
        if "dsn" in self.details:
            lines.append(f"  store: {self.details['dsn']} (writer caught up "
                         f"{self.details.get('catch_up_s', '?')} s after the drain)")  # fmt: skip
        for check in self.checks:
            verdict = "equal" if check.ok else f"{len(check.differing)} group(s) differ"
            lines.append(
                f"  {check.name}: {check.what}: {len(check.rows)} groups, oracle {check.total('oracle'):,}, "
                f"ClickHouse {check.total('clickhouse'):,}: {verdict}"
            )
            shown = check.differing[:SHOWN_DIFFERENCES]
            if shown:
                table = format_table(
                    [[*row.key, row.oracle, row.clickhouse] for row in shown],
                    header=(*check.key_names, "oracle", "clickhouse"),
                )
                lines += ["    " + line for line in table.splitlines()]
            if len(check.differing) > len(shown):
                lines.append(f"    ... {len(check.differing) - len(shown)} more in the JSON report")
        return "\n".join(lines)


Reports = Mapping[str, Sequence[Mapping[str, Any]]]


def compare_counts(expected: OracleSide, reports: Reports) -> list[CountCheck]:
    """The four checks, from the oracle's counts and the rows of the funnel/steps/outcomes/tables reports."""
    tables = [row for row in reports["tables"] if row["table_name"] in TOTAL_TABLES]
    return [
        count_check("funnel", "runs per funnel step", FUNNEL_KEY, expected.funnel,
                    keyed(reports["funnel"], FUNNEL_KEY, "runs")),
        count_check("steps", "step records per node and transition", STEPS_KEY, expected.steps,
                    keyed(reports["steps"], STEPS_KEY, "records")),
        count_check("actions", "distinct action ids per node and channel", ACTIONS_KEY, expected.actions,
                    keyed(reports["outcomes"], ACTIONS_KEY, "actions")),
        count_check("totals", "distinct ids per table", TOTALS_KEY, expected.totals,
                    keyed(tables, TOTALS_KEY, "distinct_ids")),
    ]  # fmt: skip


def check_run(
    expected: OracleSide, reports: Reports, error: str = "", details: Mapping[str, Any] | None = None
) -> AnalyticsCheck:
    """The run's verdict: the counts compared, or only the error when the reports could not be read."""
    checks = [] if error else compare_counts(expected, reports)
    noted = dict(details or {})
    if not error:  # rows as stored next to distinct ids: a gap is duplicates the counts had to ignore
        noted["stored_rows"] = {
            row["table_name"]: {"stored": row["stored_rows"], "distinct": row["distinct_ids"]}
            for row in reports["tables"]
            if row["table_name"] in TOTAL_TABLES
        }
    return AnalyticsCheck(checks, error, noted)
