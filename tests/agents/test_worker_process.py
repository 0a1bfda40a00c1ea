"""Stopping a child process and reading its log's tail (agents/worker_process.py), on real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from agents.worker_process import last_lines, stop_process

# Ignores SIGTERM once it has said so, as a stuck child would.
DEAF = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('deaf', flush=True); time.sleep(60)"
)


def started(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()  # it is running its code, handlers installed
    return proc


def test_a_child_that_obeys_sigterm_is_stopped_by_it() -> None:
    proc = started("import time; print('up', flush=True); time.sleep(60)")
    stop_process(proc, 10.0)
    assert proc.returncode == -signal.SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    proc = started(DEAF)
    stop_process(proc, 0.5)
    assert proc.returncode == -signal.SIGKILL


def test_an_exited_child_is_left_alone() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    stop_process(proc, 1.0)
    assert proc.returncode == 3


def test_last_lines_of_a_log_and_of_none(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    log.write_text("".join(f"line {n}\n" for n in range(50)))
    assert last_lines(log, 3) == "line 47\nline 48\nline 49"
    assert last_lines(tmp_path / "missing.log", 3) == "(no log)"
