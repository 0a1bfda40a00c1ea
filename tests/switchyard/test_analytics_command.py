"""`switchyard analytics`: the writer's settings from the environment."""

from __future__ import annotations

import pytest

from agents.settings import Settings, SettingsError
from switchyard.commands.analytics import writer_config


@pytest.mark.parametrize("name", ["SWITCHYARD_ANALYTICS_BATCH_ROWS", "SWITCHYARD_ANALYTICS_RETRY_MAX"])
def test_the_analytics_writer_settings_name_a_bad_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=name):
        writer_config(Settings.from_env({}), {name: "lots"})
