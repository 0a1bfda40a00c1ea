"""The recommendations benchmark's figures, computed the way production computes them: the world's
records through the analytics writer's row conversion (sinks.analytics.records) into an embedded chdb
store migrated like the writer's, then the API's named reports (sinks.analytics.reports) turned into
``Figures`` by the API's own view (agents.api.recommendations_view)."""

from __future__ import annotations

import time
from pathlib import Path

import orjson

from agents.api.recommendations_view import REPORTS, figures_of
from engine.events import Limits
from loadtest.rec_world import WorldRun
from ml.workflow_recs import Figures
from sinks.analytics.batch import ColumnBatch
from sinks.analytics.migrations import prepare
from sinks.analytics.records import action_rows, event_rows, step_rows
from sinks.analytics.reports import report_parameters, run_report
from sinks.analytics.store import AnalyticsStore
from sinks.analytics.writer import insert_batch

BATCH = 20_000


class FigureStore:
    """One embedded store (chdb allows one data path per process) holding one world's records."""

    def __init__(self, directory: Path) -> None:
        self.store = AnalyticsStore.connect(f"chdb://{directory}")
        prepare(self.store)
        self.rows = 0

    def load(self, world: WorldRun) -> float:
        """Insert the world's events, step records and actions as the writer would; seconds taken."""
        started = time.perf_counter()
        limits = Limits()
        batch = ColumnBatch()
        records = [
            *(("events", offset, event_rows(orjson.dumps(e), e["contact_id"].encode(), 0, offset, limits))
              for offset, e in enumerate(world.events)),
            *(("analytics", offset, step_rows(orjson.dumps(r), 0, offset)[0])
              for offset, r in enumerate(world.step_records)),
            *(("actions", offset, action_rows(orjson.dumps(a), 0, offset))
              for offset, a in enumerate(world.actions)),
        ]  # fmt: skip
        for topic, offset, rows in records:
            batch.add(topic, 0, offset, rows, 0.0)
            self.rows += len(rows)
            if len(batch) >= BATCH:
                insert_batch(self.store, batch)
                batch = ColumnBatch()
        insert_batch(self.store, batch)
        return time.perf_counter() - started

    def figures(self, workflow: str, version: int, as_of_ms: int) -> Figures:
        """The Figures the API would compute for ``workflow`` at ``version``, over everything stored."""
        params = report_parameters(workflow, 0, as_of_ms)
        reports = {}
        for name in REPORTS:
            result = run_report(self.store, name, params)
            reports[name] = {"columns": result.columns, "rows": result.rows}
        return figures_of(reports, version)

    def close(self) -> None:
        self.store.close()
