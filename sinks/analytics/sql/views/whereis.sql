-- Who is where now: every live run, the node it is at, since when (event time of its arrival there) and
-- for how long in seconds, by the wall clock. FINAL keeps each run's newest position and drops ended runs.
CREATE OR REPLACE VIEW whereis AS
SELECT workflow_id, version, run_id, contact_id, node_id, transition, since,
       dateDiff('second', since, now64(3, 'UTC')) AS age_seconds
FROM run_position FINAL;
