"""Ordinary mistakes on the command line end in one clear line and a non-zero exit code, not a traceback:
a chart file `switchyard report --png` cannot write (refused before the query), and ports outside 1-65535
in SWITCHYARD_*_PORT or `switchyard loadtest --broker-port`. Real child processes; no broker is needed (the
report is served by a stand-in for the analytics writer's endpoint)."""

from __future__ import annotations

import argparse
import errno
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.settings import Settings, SettingsError, analytics_port
from switchyard.commands import loadtest
from switchyard.commands import report as report_command

REPO = Path(__file__).resolve().parents[2]
# what the writer's endpoint answers for `tables` (sinks/analytics/query_server.py)
TABLES = {
    "columns": ["table_name", "stored_rows", "distinct_ids"],
    "rows": [["events", 3, 3], ["steps", 5, 5]],
}


def switchyard(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SWITCHYARD_DATA": str(tmp_path / "data"), **env}
    for name in ("SWITCHYARD_KAFKA", "SWITCHYARD_ANALYTICS_DSN", "SWITCHYARD_API_TOKEN"):
        if name not in env:
            environment.pop(name, None)
    return subprocess.run([sys.executable, "-m", "switchyard", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 1) -> str:
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


class Endpoint:
    """A stand-in for the analytics writer's report endpoint: answers every report with TABLES and counts
    the requests."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                endpoint.requests.append(self.path)
                body = json.dumps(TABLES).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    served = Endpoint()
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        served.server.shutdown()
        served.server.server_close()
        thread.join()


def report(tmp_path: Path, endpoint: Endpoint, png: Path) -> subprocess.CompletedProcess[str]:
    return switchyard(
        tmp_path, "report", "tables", "--png", str(png), SWITCHYARD_ANALYTICS_PORT=str(endpoint.port)
    )


def test_a_chart_in_a_missing_directory_is_refused_before_the_query(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    png = tmp_path / "no-such-dir" / "chart.png"
    line = one_line_error(report(tmp_path, endpoint, png))
    assert line == f"switchyard: --png {png}: no such directory: {png.parent}"
    assert endpoint.requests == [] and not png.parent.exists()


def test_a_chart_format_the_renderer_lacks_is_refused_before_the_query(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    done = report(tmp_path, endpoint, tmp_path / "chart.txt")
    line = one_line_error(done)
    assert line.startswith(
        f"switchyard: --png {tmp_path / 'chart.txt'}: cannot draw a chart as .txt; use one of:"
    )
    assert ".png" in line and ".svg" in line
    assert endpoint.requests == [] and done.stdout == ""


def test_a_directory_is_no_chart_file(tmp_path: Path, endpoint: Endpoint) -> None:
    line = one_line_error(report(tmp_path, endpoint, tmp_path))
    assert line.startswith(f"switchyard: --png {tmp_path}: is a directory")
    assert endpoint.requests == []


def test_a_chart_name_the_system_refuses_is_refused_before_the_query(
    tmp_path: Path, endpoint: Endpoint
) -> None:
    png = tmp_path / ("c" * 300 + ".png")  # longer than a file name may be
    line = one_line_error(report(tmp_path, endpoint, png))
    assert line == f"switchyard: --png {png}: File name too long"
    assert endpoint.requests == []


def test_a_chart_that_cannot_be_written_is_one_line_after_the_table(
    tmp_path: Path, endpoint: Endpoint, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from sinks.analytics import charts

    def full_disk(*args: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(charts, "save_chart", full_disk)
    monkeypatch.setenv("SWITCHYARD_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SWITCHYARD_ANALYTICS_PORT", str(endpoint.port))
    monkeypatch.delenv("SWITCHYARD_ANALYTICS_DSN", raising=False)
    monkeypatch.delenv("SWITCHYARD_API_TOKEN", raising=False)
    assert report_command.main(["tables", "--png", str(tmp_path / "chart.png")]) == 1
    out, err = capsys.readouterr()
    assert "events" in out and len(endpoint.requests) == 1
    assert err.splitlines() == [
        f"switchyard report: --png {tmp_path / 'chart.png'}: cannot write the chart: No space left on device"
    ]


@pytest.mark.parametrize(("name", "written"), [("chart.svg", "chart.svg"), ("chart.PNG", "chart.PNG"),
                                               ("chart", "chart.png")])  # fmt: skip
def test_a_chart_goes_where_the_table_says(
    tmp_path: Path, endpoint: Endpoint, name: str, written: str
) -> None:
    done = report(tmp_path, endpoint, tmp_path / name)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / written).stat().st_size > 0
    assert done.stdout.splitlines()[-1] == f"chart: {tmp_path / written}"
    assert "events" in done.stdout and len(endpoint.requests) == 1


@pytest.mark.parametrize("port", ["70000", "65536", "0"])
def test_a_kafka_port_out_of_range_is_one_line(tmp_path: Path, port: str) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "x", "contact_id": "c1"}\n')
    line = one_line_error(switchyard(tmp_path, "send", str(events), SWITCHYARD_KAFKA_PORT=port))
    assert line == f"switchyard: SWITCHYARD_KAFKA_PORT='{port}' is not a port: it must be from 1 to 65535"


def test_a_loadtest_broker_port_out_of_range_is_refused_by_the_parser(tmp_path: Path) -> None:
    # (65535, whose controller port would be 65536, is checked on the parser alone below: without the
    # check that command would go on to start a broker)
    done = switchyard(tmp_path, "loadtest", "--broker-port", "70000", "--events", "1")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "switchyard loadtest: error: argument --broker-port: 70000 is not a port from 1 to 65534 "
        "(the broker's controller takes the next one)"
    )


def loadtest_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="switchyard")
    loadtest.register(parser.add_subparsers())
    return parser.parse_args(["loadtest", *argv])


@pytest.mark.parametrize("port", ["0", "-1", "65535", "99999", "port"])
def test_the_loadtest_parser_refuses_a_broker_port_without_a_controller_port(
    port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        loadtest_args("--broker-port", port)
    assert exited.value.code == 2
    assert "argument --broker-port:" in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("port", [1, 19992, 65534])
def test_the_loadtest_parser_takes_a_broker_port_with_a_controller_port(port: int) -> None:
    assert loadtest_args("--broker-port", str(port)).broker_port == port


@pytest.mark.parametrize(
    ("name", "value"),
    [("SWITCHYARD_KAFKA_PORT", "70000"), ("SWITCHYARD_KAFKA_PORT", "0"),
     ("SWITCHYARD_KAFKA_CONTROLLER_PORT", "65536"), ("SWITCHYARD_KAFKA_CONTROLLER_PORT", "0"),
     ("SWITCHYARD_WEB_PORT", "65536")],
)  # fmt: skip
def test_settings_refuse_a_port_out_of_range_by_its_name(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name}='{value}' is not a port"):
        Settings.from_env({name: value})


def test_settings_take_every_port_and_zero_where_it_means_off() -> None:
    settings = Settings.from_env({"SWITCHYARD_KAFKA_PORT": "65535", "SWITCHYARD_KAFKA_CONTROLLER_PORT": "1",
                                  "SWITCHYARD_WEB_PORT": "0"})  # fmt: skip
    assert (settings.kafka_port, settings.kafka_controller_port, settings.web_port) == (65535, 1, 0)
    assert Settings.from_env({"SWITCHYARD_WEB_PORT": "65535"}).web_port == 65535


def test_the_analytics_port_is_a_port_or_zero() -> None:
    assert analytics_port({"SWITCHYARD_ANALYTICS_PORT": "0"}) == 0
    assert analytics_port({"SWITCHYARD_ANALYTICS_PORT": "65535"}) == 65535
    with pytest.raises(SettingsError, match=r"^SWITCHYARD_ANALYTICS_PORT='70000' is not a port"):
        analytics_port({"SWITCHYARD_ANALYTICS_PORT": "70000"})


def test_a_report_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(switchyard(tmp_path, "report", "tables", SWITCHYARD_ANALYTICS_PORT="70000"))
    assert line.startswith("switchyard: SWITCHYARD_ANALYTICS_PORT='70000' is not a port")


@pytest.mark.parametrize("flag", ["--since", "--until"])
def test_a_bad_dead_letter_time_is_refused_before_kafka_is_read(tmp_path: Path, flag: str) -> None:
    """Checked only letter by letter before, so with no dead letters (or no broker) it went unnoticed."""
    done = switchyard(tmp_path, "dlq", "list", flag, "bogus", SWITCHYARD_KAFKA="127.0.0.1:1")
    assert one_line_error(done) == "switchyard dlq: 'bogus' is neither a duration (2h, 7d) nor a time"


def test_no_broker_for_send_leaves_no_unclosed_producer(tmp_path: Path) -> None:
    events = tmp_path / "one.jsonl"
    events.write_text('{"contact_id": "c1", "type": "page.viewed"}\n')
    done = switchyard(tmp_path, "send", str(events), SWITCHYARD_KAFKA="127.0.0.1:1")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "no Kafka broker answers" in done.stderr and "Unclosed" not in done.stderr, done.stderr
