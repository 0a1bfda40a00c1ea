-- Conversion of each split arm against the holdout of the same split node (workflow, version, node).
-- A contact is assigned once per split node (its first `split` record); it converted when it produced
-- one of the workflow's goal event types (event types that completed a goal of the workflow, wake-ups
-- excepted) at or after its assignment, other than the event that made the assignment (the engine never
-- counts a run's own cause as its goal; a trigger or a wait of a goal's type would else convert every
-- contact, holdout included). Arms and holdout are measured the same way, so the holdout, whose runs end at
-- the split, is a fair control.
-- rate_low/rate_high: Wilson score interval, 95 %. diff = rate - holdout_rate with a 95 % interval from the
-- normal approximation (unpooled standard error); lift = rate / holdout_rate - 1.
CREATE OR REPLACE VIEW split_lift AS
WITH
    1.959963984540054 AS z,
    assignments AS (
        SELECT workflow_id, version, node_id AS split_node, contact_id,
               argMin(arm, ts) AS arm_name, min(ts) AS assigned_at, argMin(event_id, ts) AS assigned_by
        FROM step_log
        WHERE transition = 'split'
        GROUP BY workflow_id, version, split_node, contact_id
    ),
    goal_types AS (
        SELECT DISTINCT workflow_id, event_type AS goal_type
        FROM step_log
        WHERE transition = 'goal' AND event_type NOT IN ('', 'timer.fired', 'migration')
    ),
    goal_events AS (
        SELECT DISTINCT g.workflow_id AS workflow_id, e.contact_id AS contact_id, e.ts AS goal_ts,
               e.event_id AS goal_event
        FROM events AS e
        INNER JOIN goal_types AS g ON e.type = g.goal_type
    ),
    outcomes AS (
        SELECT a.workflow_id AS workflow_id, a.version AS version, a.split_node AS split_node,
               a.contact_id AS contact_id, any(a.arm_name) AS arm_name,
               max(ge.contact_id != '' AND ge.goal_ts >= a.assigned_at AND ge.goal_event != a.assigned_by)
                   AS converted
        FROM assignments AS a
        LEFT JOIN goal_events AS ge ON ge.workflow_id = a.workflow_id AND ge.contact_id = a.contact_id
        GROUP BY workflow_id, version, split_node, contact_id
    ),
    arms AS (
        SELECT workflow_id, version, split_node, arm_name, count() AS n, sum(converted) AS x
        FROM outcomes
        GROUP BY workflow_id, version, split_node, arm_name
    ),
    holdouts AS (
        SELECT workflow_id, version, split_node, n AS holdout_n, x AS holdout_x
        FROM arms WHERE arm_name = 'holdout'
    )
SELECT
    a.workflow_id AS workflow_id, a.version AS version, a.split_node AS split_node, a.arm_name AS arm,
    a.n AS contacts, a.x AS conversions, a.x / a.n AS rate,
    (rate + z * z / (2 * a.n) - z * sqrt(rate * (1 - rate) / a.n + z * z / (4 * a.n * a.n)))
        / (1 + z * z / a.n) AS rate_low,
    (rate + z * z / (2 * a.n) + z * sqrt(rate * (1 - rate) / a.n + z * z / (4 * a.n * a.n)))
        / (1 + z * z / a.n) AS rate_high,
    h.holdout_n AS holdout_contacts, h.holdout_x AS holdout_conversions,
    if(h.holdout_n > 0, h.holdout_x / h.holdout_n, NULL) AS holdout_rate,
    if(a.arm_name = 'holdout' OR h.holdout_n = 0, NULL, rate - holdout_rate) AS diff,
    if(a.arm_name = 'holdout' OR h.holdout_n = 0, NULL,
       z * sqrt(rate * (1 - rate) / a.n + holdout_rate * (1 - holdout_rate) / h.holdout_n)) AS diff_margin,
    diff - diff_margin AS diff_low,
    diff + diff_margin AS diff_high,
    if(a.arm_name = 'holdout' OR holdout_rate = 0, NULL, rate / holdout_rate - 1) AS lift
FROM arms AS a
LEFT JOIN holdouts AS h ON a.workflow_id = h.workflow_id AND a.version = h.version
                       AND a.split_node = h.split_node;
