-- Where every run is: its latest positional step record (a node visit, a resume or a migration), kept by
-- ReplacingMergeTree with version log_offset (a contact's records sit in one `analytics` partition, in
-- the order the worker produced them). A goal or exit sets ended = 1, which FINAL drops: only live runs
-- remain. Not partitioned by month: a run's rows must be able to replace each other across months.

CREATE TABLE IF NOT EXISTS run_position (
    workflow_id LowCardinality(String),
    version     UInt32,
    run_id      String,
    contact_id  String,
    node_id     String,
    transition  LowCardinality(String),
    since       DateTime64(3, 'UTC'),
    log_offset  Int64,
    ended       UInt8
) ENGINE = ReplacingMergeTree(log_offset, ended)
ORDER BY (workflow_id, run_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS run_position_mv TO run_position AS
SELECT workflow_id, version, run_id, contact_id, node_id, transition, ts AS since, log_offset,
       toUInt8(transition IN ('goal', 'exited')) AS ended
FROM step_log
WHERE run_id != '' AND transition IN ('waited', 'resumed', 'branched', 'split', 'acted', 'applied',
                                      'skipped', 'capped', 'goal', 'exited', 'migrated');

INSERT INTO run_position
SELECT workflow_id, version, run_id, contact_id, node_id, transition, ts AS since, log_offset,
       toUInt8(transition IN ('goal', 'exited')) AS ended
FROM step_log
WHERE run_id != '' AND transition IN ('waited', 'resumed', 'branched', 'split', 'acted', 'applied',
                                      'skipped', 'capped', 'goal', 'exited', 'migrated');
