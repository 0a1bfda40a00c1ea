"""The broker launcher: reuse, truthful status after a crash, clean stop, and one-line errors."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agents.kafka_admin import create_topics, topic_names
from agents.settings import Settings
from broker import BrokerError, KafkaBroker
from broker.launcher import BROKER_MAIN, JIT_FLAGS
from tests.fixtures import free_ports


def test_status_reports_a_stale_pid_file_as_not_running(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, tmp_path / "cache", port=19999, controller_port=19998)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    broker.pid_file.parent.mkdir(parents=True, exist_ok=True)
    broker.pid_file.write_text(str(dead.pid))
    status = broker.status()
    assert not status.running and status.pid is None
    assert "stale pid file" in status.detail
    assert not broker.pid_file.exists()


def test_a_recycled_pid_of_another_program_is_not_taken_for_the_broker(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path, tmp_path / "cache", port=19999, controller_port=19998)
    broker.pid_file.write_text(str(os.getpid()))  # alive, but it is pytest, not kafka.Kafka
    assert not broker.status().running


def test_missing_java_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither java nor mvn on it
    broker = KafkaBroker(tmp_path / "w", tmp_path / "cache", port=19999, controller_port=19998)
    with pytest.raises(BrokerError, match="apt-get install -y openjdk-17-jre-headless"):
        broker.start()


def test_cli_prints_missing_tools_without_a_traceback(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "SWITCHYARD_DATA": str(tmp_path / "d"),
           "SWITCHYARD_KAFKA_PORT": "19999", "SWITCHYARD_KAFKA_CONTROLLER_PORT": "19998"}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, "-m", "switchyard", "kafka", "start"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Java 17 is needed" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_maven_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    broker = KafkaBroker(tmp_path / "w", tmp_path / "empty-cache", port=19999, controller_port=19998)
    with pytest.raises(BrokerError, match="apt-get install -y maven"):
        broker.ensure_jars()


QUICK_JIT = "-XX:TieredStopAtLevel=1"


def test_the_jit_choice_is_one_flag_on_the_java_command_line(tmp_path: Path) -> None:
    config = tmp_path / "server.properties"
    quick = KafkaBroker(tmp_path, tmp_path / "cache", jit="c1").java_command(config)
    tiered = KafkaBroker(tmp_path, tmp_path / "cache", jit="tiered").java_command(config)
    assert QUICK_JIT in quick and QUICK_JIT not in tiered
    assert [arg for arg in quick if arg != QUICK_JIT] == tiered
    assert quick[-2:] == ["kafka.Kafka", str(config)]
    assert KafkaBroker(tmp_path, tmp_path / "cache").jit == "c1"


def test_an_unknown_jit_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="unknown broker JIT 'c2': one of c1, tiered"):
        KafkaBroker(tmp_path, tmp_path / "cache", jit="c2")


@pytest.mark.kafka
def test_the_session_broker_runs_with_the_configured_jit(kafka_broker: KafkaBroker | None) -> None:
    if kafka_broker is None:
        pytest.skip("SWITCHYARD_KAFKA points at an external broker; this session started none")
    pid = kafka_broker.status().pid
    arguments = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    jit = Settings.from_env().kafka_jit
    assert kafka_broker.jit == jit
    assert all(flag in arguments for flag in JIT_FLAGS[jit])
    assert (QUICK_JIT in arguments) == (jit == "c1")


@pytest.mark.kafka
def test_start_reuses_the_running_broker(kafka_broker: KafkaBroker | None) -> None:
    if kafka_broker is None:
        pytest.skip("SWITCHYARD_KAFKA points at an external broker; this session started none")
    before = kafka_broker.status()
    again = kafka_broker.start()
    assert before.running and again.running and again.pid == before.pid


@pytest.mark.kafka
def test_crash_then_status_then_restart_then_stop(kafka_broker: KafkaBroker | None, tmp_path: Path) -> None:
    if kafka_broker is None:
        pytest.skip("SWITCHYARD_KAFKA points at an external broker; this test needs the local launcher")
    port, controller_port = free_ports(2)
    cache = Settings().cache_dir
    broker = KafkaBroker(tmp_path, cache, port=port, controller_port=controller_port, heap="384m")
    first = broker.start()
    assert first.running and first.pid
    os.kill(first.pid, 9)  # a crash: the pid file stays behind
    os.waitpid(first.pid, 0)
    crashed = broker.status()
    assert not crashed.running and "stale" in crashed.detail
    second = broker.start()  # same storage, formatted once, starts again
    assert second.running and second.pid != first.pid
    assert broker.stop() is True
    assert not broker.status().running
    assert broker.stop() is False


@pytest.mark.kafka
def test_cleared_data_starts_empty_and_a_running_broker_is_not_cleared(
    kafka_broker: KafkaBroker | None, tmp_path: Path
) -> None:
    if kafka_broker is None:
        pytest.skip("SWITCHYARD_KAFKA points at an external broker; this test needs the local launcher")
    port, controller_port = free_ports(2)
    cache = Settings().cache_dir
    broker = KafkaBroker(tmp_path, cache, port=port, controller_port=controller_port, heap="384m")
    assert broker.start().running
    try:
        asyncio.run(create_topics(broker.bootstrap, ["left-over"], partitions=1))
        assert "left-over" in asyncio.run(topic_names(broker.bootstrap))
        with pytest.raises(BrokerError, match="is running"):
            broker.clear_data()
    finally:
        broker.stop()
    broker.clear_data()
    assert broker.start().running
    try:
        assert "left-over" not in asyncio.run(topic_names(broker.bootstrap))
    finally:
        broker.stop()


def fake_broker(config: Path) -> subprocess.Popen[bytes]:
    """A process whose command line reads like a broker's running ``config`` (it answers nothing)."""
    code = "import time; time.sleep(60)"
    return subprocess.Popen([sys.executable, "-c", code, BROKER_MAIN, str(config)])


def test_a_broker_of_another_work_dir_is_not_ours_to_stop(tmp_path: Path) -> None:
    """Several brokers run here (the session's, a load test's, a benchmark's); a stale pid file whose pid
    now belongs to another of them must not stop it."""
    broker = KafkaBroker(tmp_path / "ours", tmp_path / "cache", port=19999, controller_port=19998)
    other = fake_broker(tmp_path / "loadtest" / "server.properties")
    try:
        broker.pid_file.parent.mkdir(parents=True, exist_ok=True)
        broker.pid_file.write_text(str(other.pid))
        assert broker.status().pid is None
        assert broker.stop() is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_broker_alive_but_not_answering_keeps_its_data(tmp_path: Path) -> None:
    """One starting up, or paused, misses the metadata probe; its data is not cleared under it."""
    broker = KafkaBroker(tmp_path, tmp_path / "cache", port=19999, controller_port=19998)
    ours = fake_broker(tmp_path / "server.properties")
    try:
        (tmp_path / "data").mkdir()
        broker.pid_file.write_text(str(ours.pid))
        assert not broker.status().running and broker.status().pid == ours.pid
        with pytest.raises(BrokerError, match="is running"):
            broker.clear_data()
        assert (tmp_path / "data").is_dir()
        assert broker.stop() is True
        assert ours.wait(5) is not None
    finally:
        ours.kill()
        ours.wait()
