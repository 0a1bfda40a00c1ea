"""Fetch, format, start, probe and stop a single-node KRaft broker on 127.0.0.1.

Jars come from Maven Central through `mvn` into a cache outside the repo; the broker's data, logs and
pid file live under the data dir. `start` reuses a broker that is already up; `status` checks the pid
*and* a metadata request, so a crashed broker with a stale pid file is reported as down.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agents.settings import KAFKA_JITS
from broker.exceptions import BrokerError

KAFKA_VERSION = "4.3.1"
HERE = Path(__file__).resolve().parent
BROKER_MAIN = "kafka.Kafka"
# The JVM flags of each choice of just-in-time compilers (SWITCHYARD_KAFKA_JIT). With the optimising
# compiler (C2, "tiered") the broker spent 60-80 % of one of two cores compiling for the first 10-20 s of
# every run, warm-up or not, and the worker beside it paid in latency (README, Performance).
JIT_FLAGS: dict[str, tuple[str, ...]] = {"c1": ("-XX:TieredStopAtLevel=1",), "tiered": ()}


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    detail: str


class KafkaBroker:
    """One local broker: its jars, its storage, its process."""

    def __init__(
        self,
        work_dir: Path,
        cache_dir: Path,
        port: int = 9092,
        controller_port: int = 9093,
        partitions: int = 8,
        heap: str = "1g",
        jit: str = KAFKA_JITS[0],
    ) -> None:
        if jit not in JIT_FLAGS:
            raise BrokerError(f"unknown broker JIT {jit!r}: one of {', '.join(JIT_FLAGS)}")
        self.work_dir = work_dir
        self.libs_dir = cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"
        self.port = port
        self.controller_port = controller_port
        self.partitions = partitions
        self.heap = heap
        self.jit = jit

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.work_dir / "broker.pid"

    @property
    def log_file(self) -> Path:
        return self.work_dir / "logs" / "broker.log"

    # -- fetching ---------------------------------------------------------------------------------

    def ensure_jars(self) -> Path:
        """Download the broker's classpath once; later calls are free."""
        marker = self.libs_dir / f"kafka_2.13-{KAFKA_VERSION}.jar"
        if marker.exists():
            return self.libs_dir
        require_tool("mvn", "Maven is needed to fetch the Kafka broker: apt-get install -y maven")
        self.libs_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            "mvn", "-q", "-B", "-f", str(HERE / "pom.xml"),
            "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={self.libs_dir}",
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0 or not marker.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            raise BrokerError(f"mvn could not fetch Kafka {KAFKA_VERSION}: {' | '.join(tail)}")
        return self.libs_dir

    # -- lifecycle --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Held by start, stop and clear_data: two commands at once on one work dir would otherwise both
        launch a broker (one then dies on Kafka's own lock and may leave its pid in the pid file)."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.work_dir / "broker.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def start(self, timeout: float = 60.0) -> BrokerStatus:
        """Start the broker, or reuse the one already running; return once it answers metadata."""
        with self._exclusive():
            return self._start(timeout)

    def _start(self, timeout: float) -> BrokerStatus:
        current = self.status()
        if current.running:
            return current
        if current.pid is not None:  # alive but not answering: give it the chance to finish starting
            if wait_for_metadata(self.bootstrap, timeout):
                return self.status()
            raise BrokerError(
                f"broker pid {current.pid} does not answer on {self.bootstrap}; see {self.log_file}"
            )
        require_tool(
            "java", "Java 17 is needed to run the Kafka broker: apt-get install -y openjdk-17-jre-headless"
        )
        if port_open(self.port):
            raise BrokerError(
                f"port {self.port} is taken by another program; set SWITCHYARD_KAFKA_PORT, "
                "or SWITCHYARD_KAFKA to use that broker"
            )
        self.ensure_jars()
        self.pid_file.unlink(missing_ok=True)
        config = self._write_config()
        self._format(config)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                self.java_command(config),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # the broker outlives the command that started it
            )
        self.pid_file.write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerError(f"the broker exited with code {proc.returncode}; see {self.log_file}")
            if wait_for_metadata(self.bootstrap, 1.0):
                return self.status()
            time.sleep(0.2)
        self._stop(20.0)
        raise BrokerError(f"the broker did not answer within {timeout:.0f}s; see {self.log_file}")

    def java_command(self, config: Path) -> list[str]:
        """The command line that runs the broker with ``config``."""
        return [
            "java",
            # The whole heap from the start, as Kafka's own start script does: grown from a small one, G1
            # kept it near 300 MB with 180 MB live, past its marking threshold, and ran a concurrent marking
            # cycle every 4 s under load, taking one of two cores for 80-160 ms.
            f"-Xms{self.heap}",
            f"-Xmx{self.heap}",
            "-server",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            *JIT_FLAGS[self.jit],
            f"-Xlog:gc:file={self.log_file.parent / 'gc.log'}:time,uptime:filecount=2,filesize=10m",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={HERE / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.log_file.parent}",
            "-cp",
            f"{self.libs_dir}/*",
            BROKER_MAIN,
            str(config),
        ]

    def stop(self, timeout: float = 20.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`. Returns whether a broker was running."""
        with self._exclusive():
            return self._stop(timeout)

    def _stop(self, timeout: float) -> bool:
        pid = self._live_pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        try:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and pid_alive(pid):
                time.sleep(0.1)
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)
                while pid_alive(pid):
                    time.sleep(0.05)
        except ProcessLookupError:
            pass  # it exited meanwhile
        except PermissionError:
            raise BrokerError(
                f"broker pid {pid} belongs to another user; it cannot be stopped from here"
            ) from None
        self.pid_file.unlink(missing_ok=True)
        return True

    def clear_data(self) -> None:
        """Remove a stopped broker's topics, offsets and metadata, so that its next start begins empty."""
        with self._exclusive():
            if self._live_pid() is not None:  # also one alive but not answering yet: starting, or paused
                raise BrokerError(
                    f"the broker in {self.work_dir} is running; stop it before clearing its data"
                )
            shutil.rmtree(self.work_dir / "data", ignore_errors=True)

    def status(self) -> BrokerStatus:
        pid = self._live_pid()
        if pid is None:
            stale = " (stale pid file removed)" if self.pid_file.exists() else ""
            self.pid_file.unlink(missing_ok=True)
            return BrokerStatus(False, None, self.bootstrap, f"not running{stale}")
        if wait_for_metadata(self.bootstrap, 2.0):
            return BrokerStatus(
                True, pid, self.bootstrap, f"running, pid {pid}, answering on {self.bootstrap}"
            )
        return BrokerStatus(
            False, pid, self.bootstrap, f"pid {pid} is alive but not answering on {self.bootstrap}"
        )

    # -- internals --------------------------------------------------------------------------------

    def _live_pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not pid_alive(pid):
            return None
        try:  # a recycled pid belongs to some other program
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # Several brokers may run here (the session's, a load test's, a benchmark's): ours is the one that
        # runs this work dir's config.
        arguments = cmdline.split(b"\0")
        ours = (
            BROKER_MAIN.encode() in arguments
            and str(self.work_dir / "server.properties").encode() in arguments
        )
        return pid if ours else None

    def _write_config(self) -> Path:
        data_dir = self.work_dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        text = (HERE / "server.properties").read_text()
        for key, value in {
            "{data_dir}": str(data_dir),
            "{port}": str(self.port),
            "{controller_port}": str(self.controller_port),
            "{partitions}": str(self.partitions),
        }.items():
            text = text.replace(key, value)
        config = self.work_dir / "server.properties"
        config.write_text(text)
        return config

    def _format(self, config: Path) -> None:
        tool = [
            "java", "-Xmx256m", f"-Dlog4j2.configurationFile={HERE / 'tools-log4j2.xml'}",
            "-cp", f"{self.libs_dir}/*", "kafka.tools.StorageTool",
        ]  # fmt: skip
        cluster_file = self.work_dir / "cluster.id"
        if not cluster_file.exists():
            out = subprocess.run([*tool, "random-uuid"], capture_output=True, text=True, check=False)
            if out.returncode != 0:
                raise BrokerError(f"kafka StorageTool random-uuid failed: {out.stderr.strip()[-300:]}")
            cluster_file.write_text(out.stdout.strip())
        out = subprocess.run(
            [
                *tool,
                "format",
                "-t",
                cluster_file.read_text().strip(),
                "-c",
                str(config),
                "--ignore-formatted",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise BrokerError(f"formatting broker storage failed: {out.stderr.strip()[-300:]}")


def require_tool(name: str, advice: str) -> None:
    if shutil.which(name) is None:
        raise BrokerError(advice)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    fields = proc_stat_fields(pid)  # a zombie child (started by this very process) is dead for our purposes
    return fields is None or fields[0] != "Z"


def proc_stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, from the state (field 3) on, or None when it
    cannot be read (the process is gone, or this is not Linux). The name is in parentheses and may hold
    spaces, so the fields are counted after its last ")"."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields or None


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_for_metadata(bootstrap: str, timeout: float) -> bool:
    """True when a Kafka metadata request to `bootstrap` succeeds within `timeout` seconds."""
    host, _, port = bootstrap.rpartition(":")
    if not port_open(int(port), host or "127.0.0.1"):
        return False
    return asyncio.run(_metadata(bootstrap, timeout))


async def _metadata(bootstrap: str, timeout: float) -> bool:
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=int(max(timeout, 1) * 1000))
    try:
        await asyncio.wait_for(client.bootstrap(), timeout)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout)
        return len(metadata.brokers()) > 0
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()
