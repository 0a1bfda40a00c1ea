-- Per workflow, version and day (UTC, event time): runs that entered, reached each node, reached a goal,
-- and exited (why = the exit reason). Exact distinct runs, read from the materialised set per day.
-- Across several days, merge the sets instead of adding the daily numbers (a run active on two days
-- would count twice):  SELECT step, node, why, uniqExactMerge(runs) FROM funnel_daily_agg
--                      WHERE workflow_id = 'abandoned_cart' AND day >= today() - 7 GROUP BY step, node, why
CREATE OR REPLACE VIEW funnel_daily AS
SELECT day, workflow_id, version, step, node, why, uniqExactMerge(runs) AS runs
FROM funnel_daily_agg
GROUP BY day, workflow_id, version, step, node, why;
