"""Every report renders as a text table and as a PNG chart, with rows and without."""

from __future__ import annotations

from pathlib import Path

import pytest

from sinks.analytics.charts import save_chart
from sinks.analytics.render import text_table
from sinks.analytics.reports import REPORTS, report_parameters, run_report
from sinks.analytics.store import AnalyticsStore, QueryResult
from tests.sinks.analytics.fixtures import action_doc, insert_records, outcome_doc
from tests.sinks.analytics.test_views import T1, T2, cart_steps, lift_dataset

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", list(REPORTS))
def test_each_report_renders_a_table_and_a_png(store: AnalyticsStore, tmp_path: Path, name: str) -> None:
    steps, events = lift_dataset()
    insert_records(
        store,
        steps=[*cart_steps(), *steps],
        events=[*events, outcome_doc("a1", "c1", "email.sent", T1)],
        actions=[action_doc("a1", "c1", "cart", "mail", "email", T1)],
        recommendations=[
            {"recommendation_id": "r1", "what": "shown", "ts": T1, "workflow_id": "cart", "kind": "drop_off"},
            {
                "recommendation_id": "r1",
                "what": "dismissed",
                "ts": T1,
                "workflow_id": "cart",
                "kind": "drop_off",
                "reason": "not now",
            },
        ],
    )
    result = run_report(store, name, report_parameters(None, 0, T2))
    assert result.rows, name
    table = text_table(result).splitlines()
    assert table[0].split() == result.columns and len(table) == len(result.rows) + 2
    save_chart(name, result, tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").read_bytes()[:8] == PNG


def test_empty_results_render_too(tmp_path: Path) -> None:
    empty = QueryResult(["a"], [])
    assert text_table(empty) == "(no rows)"
    save_chart("funnel", empty, tmp_path / "empty.png")
    assert (tmp_path / "empty.png").read_bytes()[:8] == PNG
