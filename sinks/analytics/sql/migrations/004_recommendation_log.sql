-- What happened to each workflow recommendation: shown (listed by the API), applied (a draft was made
-- from it) or dismissed (with an optional reason). One row per record of the `recommendations` topic;
-- record_id is a hash of (recommendation id, what, ts), so a record inserted twice is one row after a
-- merge, and the report counts distinct recommendation ids per kind and outcome anyway.
CREATE TABLE IF NOT EXISTS recommendation_log (
    record_id         String,
    recommendation_id String,
    what              LowCardinality(String) COMMENT 'shown | applied | dismissed',
    workflow_id       LowCardinality(String),
    version           UInt32,
    kind              LowCardinality(String),
    node_id           String,
    reason            String,
    draft_version     UInt32,
    ts                DateTime64(3, 'UTC'),
    details           String COMMENT 'evidence and change, JSON text'
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (workflow_id, what, record_id);
