-- A send the contact's consent refused (`suppressed`) is a visit of its node, as `skipped` and `capped`
-- are: the run goes on past it. Without it the funnel showed fewer runs reaching a send node than the node
-- after it. The materialised view is made again with it, and every step record stored before is folded in
-- again: the rollup holds sets of run ids, so what was counted already adds nothing, and running this twice
-- is harmless.

DROP VIEW IF EXISTS funnel_daily_mv;

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
                                         'capped', 'suppressed', 'goal', 'exited'), 'reached', ''), node_id, ''),
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
                                         'capped', 'suppressed', 'goal', 'exited'), 'reached', ''), node_id, ''),
    (if(transition = 'goal', 'goal', ''), node_id, ''),
    (if(transition = 'exited', 'exited', ''), node_id, reason)
]) AS funnel_step
WHERE run_id != ''
GROUP BY day, workflow_id, version, step, node, why;
