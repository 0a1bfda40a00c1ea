-- Action outcomes per day (of the action), workflow, version, node and channel. Each action counts once
-- (GROUP BY action_id dedupes) under its best outcome: delivered, else failed, else sent, else suppressed
-- (the sink found no consent); pending = no outcome yet. actions = delivered + failed + sent + suppressed
-- + pending.
CREATE OR REPLACE VIEW action_outcomes AS
SELECT
    toDate(a.ts) AS day, a.workflow_id AS workflow_id, a.version AS version, a.node_id AS node_id,
    a.channel AS channel,
    count() AS actions,
    countIf(r.delivered = 1) AS delivered,
    countIf(r.delivered = 0 AND r.failed = 1) AS failed,
    countIf(r.delivered = 0 AND r.failed = 0 AND r.sent = 1) AS sent,
    countIf(r.delivered = 0 AND r.failed = 0 AND r.sent = 0 AND r.suppressed = 1) AS suppressed,
    countIf(r.answered = 0) AS pending
FROM (
    SELECT action_id, any(ts) AS ts, any(workflow_id) AS workflow_id, any(version) AS version,
           any(node_id) AS node_id, any(channel) AS channel
    FROM actions GROUP BY action_id
) AS a
LEFT JOIN (
    SELECT action_id, max(status = 'delivered') AS delivered, max(status = 'failed') AS failed,
           max(status = 'sent') AS sent, max(status = 'suppressed') AS suppressed, toUInt8(1) AS answered
    FROM action_results GROUP BY action_id
) AS r USING (action_id)
GROUP BY day, workflow_id, version, node_id, channel;
