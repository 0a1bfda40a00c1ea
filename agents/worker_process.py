"""Run `switchyard worker` (or another subcommand) as a child process and know when it is ready.

The demo, the tests and the load tests all start real worker processes this way, so they can stop them
cleanly or `kill -9` them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agents.settings import CHECKOUT, Settings

REPO = CHECKOUT  # the checkout whose modules the children run
READY_MARK = b"[^Worker]: Ready"


class WorkerStartError(RuntimeError):
    """A child worker that exited or did not become ready."""


def stop_process(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM and wait; SIGKILL if it does not exit within ``timeout`` seconds (nothing if it has exited)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def last_lines(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a child's log file, for an error message."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def inherited_env(switchyard: bool = True) -> dict[str, str]:
    """This process's environment for a child; without its SWITCHYARD_* variables unless ``switchyard``
    (a child that must not reach what the caller's shell names: a store, SMTP, a webhook)."""
    if switchyard:
        return dict(os.environ)
    return {name: value for name, value in os.environ.items() if not name.startswith("SWITCHYARD_")}


class WorkerProcess:
    """`switchyard worker` (or `sinks`, `analytics` ...) in a child process, logging to its own file."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        command: tuple[str, ...] = ("worker",),
        ready_mark: bytes = READY_MARK,
        module: str = "switchyard",  # tests run a fault-injecting wrapper module instead
        tree: Path = REPO,  # the checkout it runs from: another one runs its own modules (a compiled copy)
        env: dict[str, str] | None = None,  # on top of the settings' variables, at every start
        inherit_switchyard_env: bool = True,  # False: this process's SWITCHYARD_* variables stay here
    ) -> None:
        self.inherit_switchyard_env = inherit_switchyard_env
        self.module = module
        self.tree = tree
        self.env = env or {}
        self.settings = settings
        self.log_path = log_path
        self.command = command
        self.ready_mark = ready_mark
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(
        self, timeout: float = 60.0, extra_env: dict[str, str] | None = None, wait_ready: bool = True
    ) -> WorkerProcess:
        """Start the child; unless ``wait_ready`` is false, return once its log shows the ready mark."""
        env = {
            **inherited_env(self.inherit_switchyard_env),
            **self.settings.to_env(),
            **self.env,
            **(extra_env or {}),
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        start_at = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.command],
                cwd=self.tree, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        if not wait_ready:
            return self
        name = " ".join((self.module, *self.command))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WorkerStartError(f"{name} exited with {self.proc.returncode}:\n{self.log_tail()}")
            with open(self.log_path, "rb") as handle:
                handle.seek(start_at)
                if self.ready_mark in handle.read():
                    return self
            time.sleep(0.2)
        self.kill9()
        raise WorkerStartError(f"{name} not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout: float) -> int:
        """The exit code once the child ends by itself (TimeoutExpired if it does not within ``timeout``)."""
        assert self.proc is not None, "not started"
        return self.proc.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in time."""
        if self.proc is not None:
            stop_process(self.proc, timeout)

    def kill9(self) -> None:
        if self.alive():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        return last_lines(self.log_path, lines)
