"""The pure pieces of the startup benchmark: ready times read from log lines, and its figures (no Kafka)."""

from __future__ import annotations

import logging
import time

import pytest
from mode.utils.logging import DEFAULT_FORMAT, DefaultFormatter

from agents.logs import PROCESSING_READY
from loadtest.baseline import FAUST_READY
from loadtest.exceptions import LoadtestError
from loadtest.startup_bench import KINDS, Figures, Start, ready_at, report, stamp_of


def faust_line(message: str, created: float) -> bytes:
    """A line as a worker writes it: mode's default format, which Faust's workers log in."""
    formatter = DefaultFormatter(DEFAULT_FORMAT)
    record = logging.LogRecord("switchyard", logging.INFO, __file__, 1, message, None, None)
    record.created, record.msecs = created, (created % 1) * 1000
    return formatter.format(record).encode()


def test_the_stamp_of_a_worker_log_line_is_its_time_to_the_millisecond() -> None:
    now = time.time()
    assert stamp_of(faust_line("hello", now)) == pytest.approx(now, abs=0.001)


def test_a_line_without_a_stamp_is_refused_by_name() -> None:
    with pytest.raises(LoadtestError, match="no timestamp"):
        stamp_of(b"Traceback (most recent call last):")


def test_the_ready_time_is_the_first_line_with_the_marker() -> None:
    t0 = 1_767_261_600.0
    log = b"\n".join([
        faust_line("[^Worker]: Starting...", t0),
        faust_line("[^Worker]: Ready", t0 + 1.25),
        faust_line(f"{PROCESSING_READY} WorkflowSet(1 workflows)", t0 + 1.5),
        faust_line(f"{PROCESSING_READY} WorkflowSet(2 workflows)", t0 + 9.0),
    ])  # fmt: skip
    assert ready_at(log, FAUST_READY) == pytest.approx(t0 + 1.25, abs=0.001)
    assert ready_at(log, PROCESSING_READY.encode()) == pytest.approx(t0 + 1.5, abs=0.001)
    assert ready_at(log, b"never logged") is None


def test_figures_are_the_percentiles_and_ratio_of_the_recorded_starts() -> None:
    figures = Figures()
    for seconds in (1.0, 2.0, 3.0):
        figures.starts[KINDS[0]].append(Start(seconds, 0.5, seconds))
        figures.starts[KINDS[1]].append(Start(2 * seconds, 3.0, 2 * seconds - 0.5))
        figures.starts[KINDS[2]].append(Start(3 * seconds, 3.5, 3 * seconds - 0.5))
    rows = {row[0]: row for row in figures.rows()}
    _, starts, per_minute, p50, p95, longest, faust_p50, cpu_p50 = rows[KINDS[1]]
    assert (starts, p50, p95, longest, faust_p50, cpu_p50) == (3, 4.0, 6.0, 6.0, 3.5, 3.0)
    assert per_minute == pytest.approx(60 / 4.0)
    assert figures.ratio(KINDS[1]) == pytest.approx(2.0)
    assert figures.ratio(KINDS[2]) == pytest.approx(3.0)
    assert "worker new / (b): 2.00; restart / (b): 3.00" in report(figures)
