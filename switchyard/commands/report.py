"""`switchyard report NAME [--workflow W] [--since 7d] [--png FILE]`: funnel, whereis, outcomes, throughput,
lift, sends (per send node), recommendations (shown/applied/dismissed and acceptance per kind; see
docs/recommendations.md), and tables, the row counts.

Prints the named report as a table (and saves a chart with --png). With the embedded store the query goes
to the running writer's report endpoint (or opens the store when no writer runs); with a server DSN it
goes to the server. Wire-up: ``register(subparsers)``; ``python -m switchyard.commands.report`` runs it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.settings import Settings, SettingsError, analytics_port
from engine.durations import DurationError, parse_duration
from sinks.analytics.exceptions import AnalyticsError
from sinks.analytics.render import text_table
from sinks.analytics.reports import REPORTS, report_parameters
from switchyard.commands.analytics import analytics_dsn


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("report", help="analytics reports: " + ", ".join(REPORTS))
    parser.add_argument("name", choices=list(REPORTS), help="which report")
    parser.add_argument("--workflow", default="", help="only this workflow id")
    parser.add_argument("--since", default="7d", help="period: a duration back from now (7d, 12h) or 'all'")
    parser.add_argument("--png", type=Path, help="also save a chart to this PNG file")
    parser.add_argument(
        "--json", action="store_true", help="print {columns, rows} as JSON instead of a table"
    )
    parser.set_defaults(run=run_report_command)


def since_ms(text: str, now_ms: int) -> int:
    if text in ("all", "0"):
        return 0
    try:
        return max(0, now_ms - parse_duration(text))
    except DurationError as exc:
        raise SettingsError(f"--since {text!r}: {exc}") from None


def run_report_command(args: argparse.Namespace, settings: Settings) -> int:
    from sinks.analytics.query_client import ReportSource, fetch_report  # not needed to build the parser

    now_ms = int(time.time() * 1000)
    port = analytics_port(os.environ)
    source = ReportSource(
        dsn=analytics_dsn(settings, os.environ),
        endpoint=f"http://127.0.0.1:{port}" if port else None,
        token=os.environ.get("SWITCHYARD_API_TOKEN") or None,
    )
    parameters = report_parameters(args.workflow, since_ms(args.since, now_ms), now_ms)
    chart = chart_path(args.png) if args.png else None  # refused before the query, not after the table
    try:
        result = fetch_report(source, args.name, parameters)
    except AnalyticsError as exc:
        print(f"switchyard report: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"columns": result.columns, "rows": [list(row) for row in result.rows]}))
    else:
        print(text_table(result))
    if chart is not None:
        from sinks.analytics.charts import save_chart

        title = f"{args.name}" + (f" — {args.workflow}" if args.workflow else "") + f" (since {args.since})"
        try:
            save_chart(args.name, result, chart, title)
        except OSError as exc:  # what chart_path cannot foresee, e.g. a full disk or a read-only directory
            print(f"switchyard report: --png {args.png}: cannot write the chart: {exc.strerror or exc}",
                  file=sys.stderr)  # fmt: skip
            return 1
        print(f"chart: {chart}", file=sys.stderr if args.json else sys.stdout)
    return 0


def chart_path(path: Path) -> Path:
    """The file the chart of ``--png PATH`` goes to: SettingsError when PATH is a directory, its directory
    is missing, or the renderer knows no format by its suffix. Without a suffix the chart is a PNG, and the
    name gets ``.png`` (as matplotlib would add it)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # the renderer of sinks/analytics/charts.py

    try:
        if path.is_dir():
            raise SettingsError(f"--png {path}: is a directory; name a file in it, e.g. {path / 'chart.png'}")
        if not path.parent.is_dir():
            raise SettingsError(f"--png {path}: no such directory: {path.parent}")
    except OSError as exc:  # e.g. a name too long to look up
        raise SettingsError(f"--png {path}: {exc.strerror or exc}") from None
    formats = FigureCanvasAgg.get_supported_filetypes()
    suffix = path.suffix[1:].lower()
    if not suffix:
        return path.with_name(path.name + ".png")
    if suffix not in formats:
        raise SettingsError(
            f"--png {path}: cannot draw a chart as .{suffix}; use one of: "
            + ", ".join(f".{name}" for name in sorted(formats))
        )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchyard")
    register(parser.add_subparsers())
    args = parser.parse_args(["report", *(argv if argv is not None else sys.argv[1:])])
    try:
        result = int(args.run(args, Settings.from_env()))
    except SettingsError as exc:
        print(f"switchyard report: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
