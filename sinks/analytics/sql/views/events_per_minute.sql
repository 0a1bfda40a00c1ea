-- Events per minute (event time, UTC) per type; FINAL counts a re-inserted event once.
CREATE OR REPLACE VIEW events_per_minute AS
SELECT toStartOfMinute(ts) AS minute, type, count() AS events
FROM events FINAL
GROUP BY minute, type;
