-- The daily funnel, materialised: per day, workflow, version, funnel step, node and exit reason, the SET
-- of run ids (uniqExact state). A set, not a counter, so a step record inserted twice (crash between
-- insert and offset commit) adds nothing, and runs over any range of days merge exactly.
--   entered: the run started;  reached: a node visit at node;  goal: goal at node;  exited: why = reason.
-- The final INSERT backfills rows written before this migration; running it twice is harmless (sets).

CREATE TABLE IF NOT EXISTS funnel_daily_agg (
    day         Date,
    workflow_id LowCardinality(String),
    version     UInt32,
    step        LowCardinality(String),
    node        String,
    why         String,
    runs        AggregateFunction(uniqExact, String)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (workflow_id, version, day, step, node, why);

CREATE MATERIALIZED VIEW IF NOT EXISTS funnel_daily_mv TO funnel_daily_agg AS
SELECT
    toDate(ts) AS day,
    workflow_id,
    version,
    funnel_step.1 AS step,
    funnel_step.2 AS node,
    funnel_step.3 AS why,
    uniqExactState(run_id) AS runs
FROM step_log
ARRAY JOIN arrayFilter(s -> s.1 != '', [
    (if(transition = 'entered', 'entered', ''), '', ''),
    (if(node_id != '' AND transition IN ('waited', 'branched', 'split', 'acted', 'applied', 'skipped',
                                         'capped', 'goal', 'exited'), 'reached', ''), node_id, ''),
    (if(transition = 'goal', 'goal', ''), node_id, ''),
    (if(transition = 'exited', 'exited', ''), node_id, reason)
]) AS funnel_step
WHERE run_id != ''
GROUP BY day, workflow_id, version, step, node, why;

INSERT INTO funnel_daily_agg
SELECT
    toDate(ts) AS day,
    workflow_id,
    version,
    funnel_step.1 AS step,
    funnel_step.2 AS node,
    funnel_step.3 AS why,
    uniqExactState(run_id) AS runs
FROM step_log
ARRAY JOIN arrayFilter(s -> s.1 != '', [
    (if(transition = 'entered', 'entered', ''), '', ''),
    (if(node_id != '' AND transition IN ('waited', 'branched', 'split', 'acted', 'applied', 'skipped',
                                         'capped', 'goal', 'exited'), 'reached', ''), node_id, ''),
    (if(transition = 'goal', 'goal', ''), node_id, ''),
    (if(transition = 'exited', 'exited', ''), node_id, reason)
]) AS funnel_step
WHERE run_id != ''
GROUP BY day, workflow_id, version, step, node, why;
