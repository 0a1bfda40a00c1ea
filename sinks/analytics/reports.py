"""The named report queries: the only SQL the report endpoint and `switchyard report` run.

Each reads one of the views in sql/views with three bound parameters: `workflow` ('' = every workflow),
`since_ms` (epoch ms; 0 = everything) and `as_of_ms` (the "now" ages are measured against).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sinks.analytics.exceptions import UnknownReport
from sinks.analytics.store import AnalyticsStore, QueryResult

WORKFLOW = "({workflow:String} = '' OR workflow_id = {workflow:String})"
MAX_REPORT_ROWS = 200_000  # rows of a report of raw rows: enough for any backtest's cap
# A report holds the writer's one ClickHouse thread, so its inserts wait meanwhile; under the API's 30 s.
REPORT_TIME_LIMIT_S = 20.0
SINCE_DAY = "day >= toDate(fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC'))"
SINCE_TS = "ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')"
SINCE_TS_DAY = "toDate(ts) >= toDate(fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC'))"  # as SINCE_DAY
AS_OF = "fromUnixTimestamp64Milli({as_of_ms:Int64}, 'UTC')"
# the transitions that are a visit of their node (the funnel's `reached` in sql/migrations/005)
VISITS = (
    "('waited', 'branched', 'split', 'acted', 'applied', 'skipped', 'capped', 'suppressed', 'goal', 'exited')"
)


@dataclass(frozen=True)
class Report:
    name: str
    description: str
    sql: str


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            "funnel",
            "runs per funnel step over the period: entered, reached each node, goal, exited (why)",
            f"""
            SELECT workflow_id, version, step, node, why, uniqExactMerge(runs) AS runs
            FROM funnel_daily_agg
            WHERE {WORKFLOW} AND {SINCE_DAY}
            GROUP BY workflow_id, version, step, node, why
            ORDER BY workflow_id, version, indexOf(['entered', 'reached', 'goal', 'exited'], step),
                     runs DESC, node, why
            """,
        ),
        Report(
            "entered_daily",
            "runs entered per UTC day from the day of `since_ms` to the day of `as_of_ms` (days without runs"
            " are absent)",
            f"""
            SELECT workflow_id, day, uniqExactMerge(runs) AS runs
            FROM funnel_daily_agg
            WHERE {WORKFLOW} AND step = 'entered' AND {SINCE_DAY} AND day <= toDate({AS_OF})
            GROUP BY workflow_id, day
            ORDER BY workflow_id, day
            """,
        ),
        Report(
            "edges",
            "runs that went from one node straight on to another over the period, per workflow, version, node"
            " and next: each run's node visits in production order (records in a row at a node: one visit)",
            f"""
            SELECT workflow_id, version, pair.1 AS node, pair.2 AS next, uniqExact(run_id) AS runs
            FROM (
                SELECT workflow_id, version, run_id,
                       arrayMap(v -> v.2, arraySort(v -> v.1, groupArray((produced_at, visited)))) AS visits
                FROM (
                    SELECT workflow_id, version, run_id, record_id, min(log_offset) AS produced_at,
                           any(node_id) AS visited
                    FROM step_log
                    WHERE {WORKFLOW} AND {SINCE_TS_DAY} AND run_id != '' AND node_id != ''
                          AND transition IN {VISITS}
                    GROUP BY workflow_id, version, run_id, record_id
                )
                GROUP BY workflow_id, version, run_id
            )
            ARRAY JOIN arrayFilter(p -> p.1 != p.2,
                                   arrayZip(arrayPopBack(visits), arrayPopFront(visits))) AS pair
            GROUP BY workflow_id, version, node, next
            ORDER BY workflow_id, version, node, next
            """,
        ),
        Report(
            "steps",
            "step records per workflow node and transition over the period (distinct record ids)",
            f"""
            SELECT workflow_id, version, node_id AS node, transition, uniqExact(record_id) AS records
            FROM step_log
            WHERE {WORKFLOW} AND {SINCE_TS}
            GROUP BY workflow_id, version, node, transition
            ORDER BY workflow_id, version, node, transition
            """,
        ),
        Report(
            "whereis",
            "live runs per node now, and how long they have been there (seconds)",
            f"""
            SELECT workflow_id, version, node_id AS node, count() AS live_runs,
                   round(avg(dateDiff('millisecond', since, {AS_OF})) / 1000, 1) AS avg_age_s,
                   round(max(dateDiff('millisecond', since, {AS_OF})) / 1000, 1) AS max_age_s
            FROM whereis
            WHERE {WORKFLOW}
            GROUP BY workflow_id, version, node
            ORDER BY workflow_id, version, live_runs DESC, node
            """,
        ),
        Report(
            "outcomes",
            "actions per workflow node and channel: delivered, failed, sent, suppressed (no consent at the"
            " sink), pending",
            f"""
            SELECT workflow_id, version, node_id AS node, channel, sum(actions) AS actions,
                   sum(delivered) AS delivered, sum(failed) AS failed, sum(sent) AS sent,
                   sum(suppressed) AS suppressed, sum(pending) AS pending
            FROM action_outcomes
            WHERE {WORKFLOW} AND {SINCE_DAY}
            GROUP BY workflow_id, version, node, channel
            ORDER BY workflow_id, version, node, channel
            """,
        ),
        Report(
            "throughput",
            "events per minute per type (event time)",
            """
            SELECT minute, type, events
            FROM events_per_minute
            WHERE minute >= toStartOfMinute(fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC'))
            ORDER BY minute, type
            """,
        ),
        Report(
            "lift",
            "conversion of each split arm against the holdout, 95% intervals",
            f"""
            SELECT workflow_id, version, split_node, arm, contacts, conversions,
                   round(rate, 4) AS rate, round(rate_low, 4) AS rate_low, round(rate_high, 4) AS rate_high,
                   round(diff, 4) AS diff, round(diff_low, 4) AS diff_low, round(diff_high, 4) AS diff_high,
                   round(lift, 4) AS lift
            FROM split_lift
            WHERE {WORKFLOW}
            ORDER BY workflow_id, version, split_node, arm = 'holdout', arm
            """,
        ),
        Report(
            "sends",
            "per send node: actions sent (not those the sink suppressed for want of consent), and of them"
            " opened, clicked (outcome events with their action_id) and converted (the run reached a goal)",
            f"""
            SELECT a.wf AS workflow_id, a.ver AS version, a.node_at AS node,
                   any(a.via) AS channel, count() AS sent,
                   countIf(r.opened = 1 OR r.clicked = 1) AS opened, countIf(r.clicked = 1) AS clicked,
                   countIf(g.run_id != '') AS converted
            FROM (
                SELECT action_id, any(workflow_id) AS wf, any(version) AS ver, any(node_id) AS node_at,
                       any(channel) AS via, any(run_id) AS run
                FROM actions
                WHERE {WORKFLOW} AND {SINCE_TS}
                GROUP BY action_id
            ) AS a
            LEFT JOIN (
                SELECT action_id, max(endsWith(outcome, '.opened')) AS opened,
                       max(endsWith(outcome, '.clicked')) AS clicked, max(status = 'suppressed') AS suppressed
                FROM action_results GROUP BY action_id
            ) AS r ON r.action_id = a.action_id
            LEFT JOIN (
                SELECT DISTINCT run_id FROM step_log WHERE transition = 'goal' AND {WORKFLOW} AND run_id != ''
            ) AS g ON g.run_id = a.run
            WHERE r.suppressed = 0
            GROUP BY workflow_id, version, node
            ORDER BY workflow_id, version, node
            """,
        ),
        Report(
            "channels",
            "the channel bandit's evidence, over every workflow (it learns across them): per send node,"
            " channel and recipient segment (their `segment` attribute, else `plan`, else 'all'), sends (not"
            " those the sink suppressed for want of consent),"
            " opened, clicked (or replied), converted (the run reached a goal) and the sum of the send's"
            " engagement reward (the bandit's: 0.7 clicked or replied, 0.3 opened) and of its square",
            f"""
            SELECT a.wf AS workflow_id, a.ver AS version, a.node_at AS node, a.via AS channel,
                   if(s.segment = '', 'all', s.segment) AS segment, count() AS sent,
                   countIf(r.opened = 1 OR r.clicked = 1) AS opened, countIf(r.clicked = 1) AS clicked,
                   countIf(g.run_id != '') AS converted,
                   sum(multiIf(r.clicked = 1, 0.7, r.opened = 1, 0.3, 0.0)) AS reward,
                   sum(pow(multiIf(r.clicked = 1, 0.7, r.opened = 1, 0.3, 0.0), 2)) AS reward_sq
            FROM (
                SELECT action_id, any(workflow_id) AS wf, any(version) AS ver, any(node_id) AS node_at,
                       any(channel) AS via, any(run_id) AS run, any(contact_id) AS who
                FROM actions
                WHERE channel IN ('email', 'sms', 'push') AND {SINCE_TS}
                GROUP BY action_id
            ) AS a
            LEFT JOIN (
                SELECT action_id, max(endsWith(outcome, '.opened')) AS opened,
                       max(endsWith(outcome, '.clicked') OR endsWith(outcome, '.replied')) AS clicked,
                       max(status = 'suppressed') AS suppressed
                FROM action_results GROUP BY action_id
            ) AS r ON r.action_id = a.action_id
            LEFT JOIN (
                SELECT DISTINCT run_id FROM step_log WHERE transition = 'goal' AND run_id != ''
            ) AS g ON g.run_id = a.run
            LEFT JOIN (
                SELECT contact_id, if(by_segment != '', by_segment, by_plan) AS segment
                FROM (
                    SELECT contact_id,
                           argMaxIf(JSONExtractString(properties, 'segment'), ts,
                                    JSONHas(properties, 'segment')) AS by_segment,
                           argMaxIf(JSONExtractString(properties, 'plan'), ts, JSONHas(properties, 'plan'))
                               AS by_plan
                    FROM events
                    WHERE type IN ('contact.added', 'contact.updated', 'crm.updated')
                    GROUP BY contact_id
                )
            ) AS s ON s.contact_id = a.who
            WHERE r.suppressed = 0
            GROUP BY workflow_id, version, node, channel, segment
            ORDER BY workflow_id, version, node, channel, segment
            """,
        ),
        Report(
            "recommendations",
            "workflow recommendations per kind: shown, applied, dismissed (distinct recommendations) and the"
            " acceptance rate applied / (applied + dismissed), and applied / shown",
            f"""
            SELECT kind,
                   uniqExactIf(recommendation_id, what = 'shown') AS shown,
                   uniqExactIf(recommendation_id, what = 'applied') AS applied,
                   uniqExactIf(recommendation_id, what = 'dismissed') AS dismissed,
                   if(applied + dismissed = 0, NULL,
                      round(applied / (applied + dismissed), 4)) AS acceptance_rate,
                   if(shown = 0, NULL, round(applied / shown, 4)) AS applied_per_shown
            FROM recommendation_log
            WHERE {WORKFLOW} AND {SINCE_TS}
            GROUP BY kind
            ORDER BY kind
            """,
        ),
        Report(
            "recommendations_dismissed",
            "the workflow recommendations dismissed (at any time), with the latest dismissal's reason",
            f"""
            SELECT recommendation_id, argMax(reason, ts) AS reason,
                   toUnixTimestamp64Milli(max(ts)) AS dismissed_at
            FROM recommendation_log
            WHERE {WORKFLOW} AND what = 'dismissed'
            GROUP BY recommendation_id
            ORDER BY recommendation_id
            """,
        ),
        Report(
            "events",
            "recorded contact events since `since_ms`, in each contact's arrival order (for backtests)",
            """
            SELECT event_id, contact_id, type, toUnixTimestamp64Milli(ts) AS ts_ms, properties
            FROM events FINAL
            WHERE ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND type != 'timer.fired'
            ORDER BY contact_id, kafka_partition, kafka_offset
            LIMIT {max_rows:UInt64}
            """,
        ),
        Report(
            "seen",
            "event types recorded since `since_ms` (the 500 most frequent): events, the last time, and their"
            " property keys (at most 200 per type), for the builder's pickers",
            """
            SELECT type, count() AS events, toUnixTimestamp64Milli(max(ts)) AS last_ts_ms,
                   arraySort(groupUniqArrayArray(200)(JSONExtractKeys(properties))) AS property_keys
            FROM events FINAL
            WHERE ts >= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND type != 'timer.fired'
            GROUP BY type
            ORDER BY events DESC, type
            LIMIT 500
            """,
        ),
        Report(
            "tables",
            "rows per table as stored, and distinct natural ids (their difference awaits a merge)",
            """
            SELECT 'events' AS table_name, count() AS stored_rows, uniqExact(event_id) AS distinct_ids
            FROM events
            UNION ALL SELECT 'step_log', count(), uniqExact(record_id) FROM step_log
            UNION ALL SELECT 'actions', count(), uniqExact(action_id) FROM actions
            UNION ALL SELECT 'action_results', count(), uniqExact(action_id, outcome) FROM action_results
            UNION ALL SELECT 'predictions', count(), uniqExact(event_id) FROM predictions
            UNION ALL SELECT 'tasks', count(), uniqExact(task_id) FROM tasks
            """,
        ),
    )
}


def report_parameters(
    workflow: str | None, since_ms: int, as_of_ms: int, max_rows: int = MAX_REPORT_ROWS
) -> dict[str, Any]:
    """The parameters every report may read; ``max_rows`` bounds the reports of raw rows (`events`), at
    most MAX_REPORT_ROWS + 1 (a caller that wants to know whether there were more than its cap asks for
    one row more, also for a cap of MAX_REPORT_ROWS)."""
    rows = max(0, min(int(max_rows), MAX_REPORT_ROWS + 1))  # one more than any cap: a caller sees it was cut
    return {
        "workflow": workflow or "",
        "since_ms": int(since_ms),
        "as_of_ms": int(as_of_ms),
        "max_rows": rows,
    }


def run_report(store: AnalyticsStore, name: str, parameters: Mapping[str, Any]) -> QueryResult:
    report = REPORTS.get(name)
    if report is None:
        raise UnknownReport(f"no report named {name!r}; known: {', '.join(REPORTS)}")
    result = store.query(report.sql, parameters, time_limit_s=REPORT_TIME_LIMIT_S)
    return QueryResult(result.columns, [tuple(plain(value) for value in row) for row in result.rows])


def plain(value: Any) -> Any:
    """A JSON-friendly value: times as ISO text (UTC), NaN as None, decimals as floats."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
