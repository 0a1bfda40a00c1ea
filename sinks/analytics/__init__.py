"""Analytics in ClickHouse: schema and migrations, the batched Kafka-to-ClickHouse writer, views, reports.

Storage goes through clickhouse-connect only: `chdb:///abs/path` is the embedded engine (the default,
under the data dir), `http(s)://user:pass@host:port/db` a real server. See docs/analytics.md.
"""
