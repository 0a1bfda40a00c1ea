"""Migrations: applied once, recorded, idempotent, and guarded against edits after the fact."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinks.analytics.exceptions import MigrationError
from sinks.analytics.migrations import (
    Migration,
    applied_migrations,
    create_views,
    load_migrations,
    migrate,
    prepare,
    split_statements,
    view_files,
)
from sinks.analytics.store import AnalyticsStore

TABLES = {"events", "step_log", "actions", "action_results", "predictions", "tasks"}
VIEWS = {"funnel_daily", "whereis", "action_outcomes", "events_per_minute", "split_lift"}


def table_engines(store: AnalyticsStore) -> dict[str, str]:
    rows = store.query("SELECT name, engine FROM system.tables WHERE database = currentDatabase()").rows
    return {name: engine for name, engine in rows}


def test_first_run_applies_every_migration_in_order_and_records_it(fresh_database: str) -> None:
    store = AnalyticsStore.connect(fresh_database)
    try:
        files = load_migrations()
        assert [m.version for m in files] == sorted(m.version for m in files)
        assert migrate(store) == [m.version for m in files]
        assert applied_migrations(store) == {m.version: m.checksum for m in files}
        engines = table_engines(store)
        for table in TABLES:
            assert engines[table] == "ReplacingMergeTree", table
        assert engines["funnel_daily_agg"] == "AggregatingMergeTree"
        assert engines["run_position"] == "ReplacingMergeTree"
    finally:
        store.close()


def test_running_again_applies_nothing_and_keeps_data(store: AnalyticsStore) -> None:
    store.command("INSERT INTO events (event_id, contact_id, type, ts) VALUES ('e1', 'c1', 'x', 1)")
    assert prepare(store) == []
    assert prepare(store) == []
    assert store.query("SELECT count() FROM schema_migrations").rows == [(len(load_migrations()),)]
    assert store.query("SELECT count() FROM events").rows == [(1,)]


def test_a_migration_interrupted_half_way_is_completed_by_the_next_run(fresh_database: str) -> None:
    store = AnalyticsStore.connect(fresh_database)
    try:
        first = load_migrations()[0]
        store.command(first.statements()[0])  # a crash after the first statement, before it was recorded
        assert migrate(store) == [m.version for m in load_migrations()]
        assert set(table_engines(store)) >= TABLES
    finally:
        store.close()


def test_a_migration_edited_after_it_was_applied_is_refused(store: AnalyticsStore) -> None:
    edited = [Migration(m.version, m.name, m.sql + "\n-- edited\n") for m in load_migrations()]
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(store, edited)


def test_a_new_migration_file_is_applied_on_the_next_start(store: AnalyticsStore, tmp_path: Path) -> None:
    newer = Migration(
        999, "extra", "CREATE TABLE IF NOT EXISTS extra (a UInt8) ENGINE = MergeTree ORDER BY a;"
    )
    assert migrate(store, [*load_migrations(), newer]) == [999]
    assert "extra" in table_engines(store)


def test_views_are_created_from_their_files_and_replaced_on_every_start(store: AnalyticsStore) -> None:
    assert {p.stem for p in view_files()} == VIEWS
    assert set(create_views(store)) == VIEWS
    assert {name for name, engine in table_engines(store).items() if engine == "View"} >= VIEWS


def test_misnamed_migration_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        load_migrations(tmp_path)


def test_statements_split_at_line_ending_semicolons_and_drop_comment_lines() -> None:
    sql = (
        "-- a comment; with a semicolon\nCREATE TABLE a (x String DEFAULT ';')\nENGINE = Log;\n"
        "\nSELECT 1;  \n"
    )
    assert split_statements(sql) == ["CREATE TABLE a (x String DEFAULT ';')\nENGINE = Log", "SELECT 1"]
