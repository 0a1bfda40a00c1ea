"""Query results as a plain text table for the terminal."""

from __future__ import annotations

from typing import Any

from sinks.analytics.store import QueryResult


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def text_table(result: QueryResult) -> str:
    if not result.rows:
        return "(no rows)"
    cells = [[cell(v) for v in row] for row in result.rows]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in result.rows)
               for i in range(len(result.columns))]  # fmt: skip
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(result.columns)]

    def line(values: list[str]) -> str:
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    header = line(list(result.columns))
    rule = "  ".join("-" * w for w in widths)
    return "\n".join([header, rule, *(line(row) for row in cells)])
