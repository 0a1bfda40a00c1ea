from __future__ import annotations

from pathlib import Path

from agents.app import build_app
from agents.settings import Settings
from switchyard.commands.analytics import writer_config
from switchyard.commands.sinks import sink_settings


def test_every_consumer_group_of_ours_gets_the_session_timeout(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, session_timeout_s=7.5, web_port=0)
    assert build_app(settings).conf.broker_session_timeout == 7.5
    assert sink_settings(settings).session_timeout_s == 7.5
    assert writer_config(settings, {}).session_timeout_s == 7.5
