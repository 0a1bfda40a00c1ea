"""Stopping a child process and reading its log's tail (agents/worker_process.py), on real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agents.settings import Settings
from agents.worker_process import WorkerProcess, WorkerStartError, last_lines, stop_process

# Ignores SIGTERM once it has said so, as a stuck child would.
DEAF = (
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "print('deaf', flush=True); time.sleep(60)"
)


# A stand-in for `switchyard <command>`: says what it was given, then whether it is ready or exits.
CHILD = """
import os, sys, time
print("args", sys.argv[1:], "own", os.environ.get("OWN"), "extra", os.environ.get("EXTRA"), flush=True)
if sys.argv[1:] == ["exit"]:
    raise SystemExit(4)
print("child: ready", flush=True)
time.sleep(60)
"""


def child_process(tmp_path: Path, command: tuple[str, ...]) -> WorkerProcess:
    (tmp_path / "child.py").write_text(CHILD)
    settings = Settings(data_dir=tmp_path)
    return WorkerProcess(
        settings,
        tmp_path / "child.log",
        command,
        b"child: ready",
        module="child",
        tree=tmp_path,
        env={"OWN": "1"},
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


def test_a_started_child_has_its_command_and_both_environments(tmp_path: Path) -> None:
    child = child_process(tmp_path, ("run", "--fast")).start(timeout=30, extra_env={"EXTRA": "2"})
    try:
        assert child.alive()
        assert "args ['run', '--fast'] own 1 extra 2" in child.log_tail()
    finally:
        child.stop(5)
    assert not child.alive()


def test_a_child_that_exits_before_it_is_ready_is_an_error_with_its_log(tmp_path: Path) -> None:
    with pytest.raises(WorkerStartError, match=r"child exit exited with 4:\n.*args \['exit'\]"):
        child_process(tmp_path, ("exit",)).start(timeout=30)


def test_start_without_waiting_then_wait_for_the_exit(tmp_path: Path) -> None:
    child = child_process(tmp_path, ("exit",)).start(wait_ready=False)
    assert child.wait_exit(30) == 4
