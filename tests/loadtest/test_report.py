"""Load-test reporting: summary figures, the JSON report, the PNG plot, the table and the progress bar."""

from __future__ import annotations

import io
import random
import struct
from pathlib import Path

import orjson
import pytest

from loadtest.meter import Offsets, Tick, samples
from loadtest.report import (
    ProgressBar,
    Sample,
    build_report,
    format_table,
    lag_slope,
    plot,
    summarise,
    summary_table,
    write,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_samples(seconds: int = 30, growth: int = 0) -> list[Sample]:
    rng = random.Random(4)
    out = []
    for second in range(seconds):
        processed = 1000 + rng.randrange(-50, 50)
        p50 = 5 + rng.random()
        out.append(
            Sample(
                t=second + 1,
                produced=1000,
                processed=processed,
                lag=40 + growth * second + rng.randrange(3),
                actions=processed // 4,
                p50_ms=p50,
                p95_ms=p50 * 3,
                p99_ms=p50 * 6 if second % 7 else None,  # some seconds saw no action
            )
        )
    return out


def test_png_is_a_valid_image_of_the_figure_size(tmp_path: Path) -> None:
    path = plot(run_samples(), tmp_path / "plots" / "run.png", "1,000 ev/s for 30 s")
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    assert data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (1000, 900)


def test_write_gives_json_and_png_side_by_side(tmp_path: Path) -> None:
    samples = run_samples()
    report = build_report("smoke", samples, oracle={"accuracy_pct": 100.0}, spec={"rate": 1000})
    json_path, png_path = write(tmp_path, "smoke", report, samples)
    loaded = orjson.loads(json_path.read_bytes())
    assert loaded["title"] == "smoke" and loaded["oracle"] == {"accuracy_pct": 100.0}
    assert len(loaded["samples"]) == 30 and loaded["samples"][3]["lag"] == samples[3].lag
    assert loaded["summary"]["processed"] == sum(s.processed for s in samples)
    assert png_path.read_bytes().startswith(PNG_SIGNATURE)


def test_summary_figures_follow_the_samples() -> None:
    samples = run_samples(growth=25)
    summary = summarise(samples)
    assert summary["seconds"] == 30
    assert summary["mean_throughput_eps"] == sum(s.processed for s in samples) / 30
    assert summary["peak_throughput_eps"] == max(s.processed for s in samples)
    assert summary["max_lag"] == max(s.lag for s in samples) and summary["final_lag"] == samples[-1].lag
    assert summary["worst_second_p99_ms"] == max(s.p99_ms for s in samples if s.p99_ms is not None)
    assert summary["lag_slope_per_s"] == pytest.approx(25, abs=0.5)
    assert summarise(run_samples(growth=0))["lag_slope_per_s"] == pytest.approx(0, abs=0.5)


def test_rates_divide_by_the_seconds_the_samples_cover_when_some_were_lost() -> None:
    # 1,000 ev/s for 10 s; the meter lost the samples of 4, 7 and 9 s to broker hiccups, so the samples
    # after each gap count two seconds of events
    ticks = [Tick(float(t), 1000 * t, Offsets(1000 * t, 1000 * t)) for t in (1, 2, 3, 5, 6, 8, 10)]
    summary = summarise(samples(ticks, []))
    assert summary["seconds"] == 10.0 and summary["samples"] == 7 and summary["processed"] == 10_000
    assert summary["mean_throughput_eps"] == 1000.0
    assert summary["peak_throughput_eps"] == 1000.0
    # a real burst still shows as the peak
    ticks.append(Tick(11.0, 13_000, Offsets(13_000, 13_000)))
    burst = summarise(samples(ticks, []))
    assert burst["peak_throughput_eps"] == 3000.0 and burst["mean_throughput_eps"] == 13_000 / 11


def test_lag_slope_is_the_least_squares_slope() -> None:
    samples = [Sample(t=t, produced=0, processed=0, lag=3 * t + 7) for t in range(10)]
    assert lag_slope(samples) == pytest.approx(3)
    assert lag_slope(samples[:1]) == 0.0


def test_table_aligns_numbers_right_and_text_left() -> None:
    text = format_table([("p99", 12.5), ("events", 60000), ("ok", "yes")], header=("metric", "value"))
    lines = text.splitlines()
    assert lines[0].split() == ["metric", "value"] and set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].startswith("p99 ") and lines[3].endswith("60,000")
    assert len({len(line) for line in lines[2:4]}) == 1
    assert "-" in summary_table({"worst p99": float("nan")}).splitlines()[2]


def test_progress_bar_redraws_at_most_every_interval_and_ends_the_line() -> None:
    now = [0.0]
    stream = io.StringIO()
    bar = ProgressBar(200, "produce", stream=stream, width=10, every_s=1.0, clock=lambda: now[0])
    bar.update(50)
    now[0] = 0.5
    bar.update(100)  # too soon: not drawn
    now[0] = 1.2
    bar.update(150, "lag 12")
    bar.close()
    frames = stream.getvalue().split("\r")[1:]
    assert frames[0] == "produce [##........]  25%  50/200  0.0s"
    assert frames[1] == "produce [#######...]  75%  150/200  1.2s  lag 12"
    assert frames[2].endswith("\n") and "75%" in frames[2] and len(frames) == 3
