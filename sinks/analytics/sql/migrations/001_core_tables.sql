-- The raw tables the writer fills, one per kind of record.
--
-- Dedupe: every table is a ReplacingMergeTree whose ORDER BY ends with the record's natural id, and
-- every other key column is a function of that id. A batch inserted again after a crash (rows in
-- ClickHouse, Kafka offsets not committed yet) leaves duplicate rows only until the next merge; the
-- views count with FINAL, uniqExact(id) or GROUP BY id, so a duplicate is never counted twice.
-- Partitions are months of the record's own time, which a duplicate shares with its original.

CREATE TABLE IF NOT EXISTS events (
    event_id        String,
    contact_id      String,
    type            LowCardinality(String),
    ts              DateTime64(3, 'UTC'),
    properties      String COMMENT 'JSON text',
    kafka_partition Int32,
    kafka_offset    Int64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (type, ts, event_id);

-- One row per step record of the `analytics` topic: the engine's trace entry plus its cause.
-- record_id = "<source>/<seq>" (partition:offset of the causing event, index in its trace); records
-- without a source (run migrations) use a hash of their content. log_partition/log_offset are the
-- record's own position in `analytics`, which orders one contact's records as they were produced.
CREATE TABLE IF NOT EXISTS step_log (
    ts            DateTime64(3, 'UTC'),
    contact_id    String,
    workflow_id   LowCardinality(String),
    version       UInt32,
    run_id        String,
    node_id       String,
    transition    LowCardinality(String),
    reason        String,
    arm           String,
    goal          String,
    event_id      String,
    event_type    LowCardinality(String),
    source        String,
    seq           UInt32,
    record_id     String,
    late_ms       Nullable(Int64),
    details       String COMMENT 'the other keys of the record, JSON text',
    log_partition Int32,
    log_offset    Int64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (workflow_id, run_id, record_id);

CREATE TABLE IF NOT EXISTS actions (
    action_id     String,
    channel       LowCardinality(String),
    type          LowCardinality(String),
    contact_id    String,
    workflow_id   LowCardinality(String),
    version       UInt32,
    run_id        String,
    node_id       String,
    ts            DateTime64(3, 'UTC'),
    params        String COMMENT 'rendered params, JSON text',
    log_partition Int32,
    log_offset    Int64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (workflow_id, node_id, channel, action_id);

-- Outcome events (events whose properties carry an action_id): one row per (action, outcome type).
-- status: delivered | failed | sent (every other outcome, e.g. email.sent, task.created).
CREATE TABLE IF NOT EXISTS action_results (
    action_id  String,
    outcome    LowCardinality(String),
    status     LowCardinality(String),
    channel    LowCardinality(String),
    contact_id String,
    event_id   String,
    ts         DateTime64(3, 'UTC'),
    detail     String COMMENT 'the outcome event properties, JSON text'
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (action_id, outcome);

-- Scores from `predicted.<model>` events (the ML issue may also insert here directly).
CREATE TABLE IF NOT EXISTS predictions (
    event_id   String,
    contact_id String,
    model      LowCardinality(String),
    score      Float64,
    ts         DateTime64(3, 'UTC'),
    details    String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (model, contact_id, event_id);

-- Tasks (the `tasks` topic rows and task.* events): the newest row of a task wins (version updated_at).
-- Not partitioned by month: every version of a task must be able to meet its predecessors in a merge.
CREATE TABLE IF NOT EXISTS tasks (
    task_id     String,
    contact_id  String,
    workflow_id LowCardinality(String),
    action_id   String,
    title       String,
    assignee    String,
    team        String,
    status      LowCardinality(String),
    due_at      Nullable(DateTime64(3, 'UTC')),
    updated_at  DateTime64(3, 'UTC'),
    details     String
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY task_id;
