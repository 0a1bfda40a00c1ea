"""The demo's children never reach what the user's shell names for real work (a production ClickHouse, an
SMTP server, a webhook): they get the demo's settings and none of the shell's SWITCHYARD_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.settings import Settings
from agents.worker_process import inherited_env
from sinks.analytics.dsn import default_dsn
from switchyard.demo import analytics_env


def test_a_child_without_the_shells_switchyard_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHYARD_ANALYTICS_DSN", "https://analyst:pw@clickhouse.prod.example:8443/db")
    monkeypatch.setenv("SWITCHYARD_SMS_URL", "https://sms.prod.example/send")
    monkeypatch.setenv("PATH_FOR_TEST", "kept")
    scrubbed = inherited_env(switchyard=False)
    assert not [name for name in scrubbed if name.startswith("SWITCHYARD_")]
    assert scrubbed["PATH_FOR_TEST"] == "kept"
    assert inherited_env()["SWITCHYARD_SMS_URL"] == "https://sms.prod.example/send"


def test_the_demos_analytics_writer_uses_its_own_embedded_store(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "demo")
    env = analytics_env(settings, 6099)
    assert env["SWITCHYARD_ANALYTICS_DSN"] == default_dsn(tmp_path / "demo")
    assert env["SWITCHYARD_ANALYTICS_DSN"].startswith("chdb://")
