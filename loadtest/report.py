"""Load-test reporting: per-second samples to a JSON report, a PNG plot and a plain-text summary table,
plus a dependency-free progress bar for long runs.

The plot uses matplotlib's object API on an Agg canvas (no pyplot, no global backend state).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from loadtest.kafka_bench import write_report


@dataclass(frozen=True)
class Sample:
    """One second of a run."""

    t: float  # seconds since the run started (end of this second)
    produced: int  # events produced during the second
    processed: int  # events the workers applied since the sample before (the first: since the start)
    lag: int  # consumer lag (messages) at the end of the second
    actions: int = 0  # actions seen on actions.* during the second
    p50_ms: float | None = None  # end-to-end latency of the actions seen during the second
    p95_ms: float | None = None
    p99_ms: float | None = None


def summarise(samples: Sequence[Sample]) -> dict[str, float | int]:
    """Figures of the whole run, from its samples in time order since its start (the first one counts from
    t = 0, each later one from the sample before it). Rates divide by the seconds the samples cover, not by
    how many there are: a sample lost to a broker hiccup leaves the next one covering two seconds. The lag
    slope (messages/s, least squares over the second half) says whether the system keeps up: close to 0 it
    does; clearly positive, the backlog grows."""
    if not samples:
        return {"seconds": 0}
    seconds = samples[-1].t
    processed = [s.processed for s in samples]
    starts = [0.0, *(s.t for s in samples[:-1])]
    rates = [s.processed / (s.t - start) for s, start in zip(samples, starts, strict=True) if s.t > start]
    p99s = [s.p99_ms for s in samples if s.p99_ms is not None]
    return {
        "seconds": seconds,
        "samples": len(samples),
        "produced": sum(s.produced for s in samples),
        "processed": sum(processed),
        "actions": sum(s.actions for s in samples),
        "mean_throughput_eps": sum(processed) / seconds if seconds > 0 else math.nan,
        "peak_throughput_eps": max(rates, default=math.nan),
        "max_lag": max(s.lag for s in samples),
        "final_lag": samples[-1].lag,
        "lag_slope_per_s": lag_slope(samples[len(samples) // 2 :]),
        "worst_second_p99_ms": max(p99s) if p99s else math.nan,
    }


def lag_slope(samples: Sequence[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    mean_t = sum(s.t for s in samples) / len(samples)
    mean_lag = sum(s.lag for s in samples) / len(samples)
    spread = sum((s.t - mean_t) ** 2 for s in samples)
    if spread == 0:
        return 0.0
    return sum((s.t - mean_t) * (s.lag - mean_lag) for s in samples) / spread


def build_report(title: str, samples: Sequence[Sample], **sections: Any) -> dict[str, Any]:
    """The JSON document: title, run summary, any extra sections (latency, oracle, spec ...), samples."""
    return {
        "title": title,
        "summary": summarise(samples),
        **sections,
        "samples": [asdict(sample) for sample in samples],
    }


def plot(samples: Sequence[Sample], path: Path, title: str) -> Path:
    """Throughput, consumer lag and latency percentiles over time, stacked, as a PNG."""
    figure = Figure(figsize=(10, 9), dpi=100)
    FigureCanvasAgg(figure)
    rate_axes, lag_axes, latency_axes = figure.subplots(3, 1, sharex=True)
    seconds = [s.t for s in samples]
    rate_axes.plot(seconds, [s.produced for s in samples], label="produced")
    rate_axes.plot(seconds, [s.processed for s in samples], label="processed")
    rate_axes.plot(seconds, [s.actions for s in samples], label="actions", alpha=0.6)
    rate_axes.set_ylabel("per second")
    rate_axes.set_title(title)
    rate_axes.legend(loc="upper right")
    lag_axes.plot(seconds, [s.lag for s in samples], color="tab:red")
    lag_axes.set_ylabel("consumer lag (messages)")
    for name in ("p50_ms", "p95_ms", "p99_ms"):
        points = [(s.t, getattr(s, name)) for s in samples if getattr(s, name) is not None]
        latency_axes.plot([p[0] for p in points], [p[1] for p in points], label=name.split("_")[0])
    latency_axes.set_ylabel("end-to-end latency (ms)")
    latency_axes.set_xlabel("seconds since start")
    latency_axes.legend(loc="upper right")
    for axes in (rate_axes, lag_axes, latency_axes):
        axes.grid(alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def write(
    directory: Path, stem: str, report: Mapping[str, Any], samples: Sequence[Sample]
) -> tuple[Path, Path]:
    """``<stem>.json`` and ``<stem>.png`` under ``directory``."""
    json_path = write_report(directory / f"{stem}.json", report)
    png_path = plot(samples, directory / f"{stem}.png", str(report.get("title", stem)))
    return json_path, png_path


def format_table(rows: Sequence[Sequence[object]], header: Sequence[str] | None = None) -> str:
    """Columns aligned with spaces: numbers to the right, text to the left; floats get 2 decimals."""

    def cell(value: object) -> tuple[str, bool]:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value), False
        if isinstance(value, float):
            return ("-" if math.isnan(value) else f"{value:,.2f}"), True
        return f"{value:,}", True

    lines = [[(name, False) for name in header]] if header else []
    lines += [[cell(value) for value in row] for row in rows]
    columns = max((len(line) for line in lines), default=0)
    widths = [max(len(line[i][0]) for line in lines if i < len(line)) for i in range(columns)]
    out = []
    for line in lines:
        padded = [
            text.rjust(widths[i]) if numeric else text.ljust(widths[i])
            for i, (text, numeric) in enumerate(line)
        ]
        out.append("  ".join(padded).rstrip())
    if header:
        out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def summary_table(summary: Mapping[str, object]) -> str:
    return format_table([(name, value) for name, value in summary.items()], header=("metric", "value"))


class ProgressBar:
    """``[#######.......]  45%  27,000/60,000  12.3s  <note>`` redrawn in place on stderr, at most every
    ``every_s`` seconds (``close`` always draws the last state and ends the line)."""

    def __init__(
        self,
        total: int,
        label: str = "",
        stream: TextIO | None = None,
        width: int = 30,
        every_s: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(1, total)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.every_s = every_s
        self.clock = clock
        self.started = clock()
        self.drawn_at = -math.inf
        self.done = 0
        self.note = ""

    def update(self, done: int, note: str = "") -> None:
        self.done, self.note = done, note
        now = self.clock()
        if now - self.drawn_at >= self.every_s:
            self.drawn_at = now
            self.stream.write("\r" + self.render(now))
            self.stream.flush()

    def render(self, now: float) -> str:
        share = min(1.0, self.done / self.total)
        filled = int(share * self.width)
        bar = "#" * filled + "." * (self.width - filled)
        label = f"{self.label} " if self.label else ""
        text = f"{label}[{bar}] {share:4.0%}  {self.done:,}/{self.total:,}  {now - self.started:.1f}s"
        return f"{text}  {self.note}" if self.note else text

    def close(self) -> None:
        self.stream.write("\r" + self.render(self.clock()) + "\n")
        self.stream.flush()
