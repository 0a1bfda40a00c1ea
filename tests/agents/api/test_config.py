"""The API's settings from the environment: numbers are read as the worker's settings read them."""

from __future__ import annotations

import pytest

from agents.api.config import ApiConfig
from agents.settings import SettingsError

API_BAD = [("SWITCHYARD_API_MAX_BODY_BYTES", "1MB"), ("SWITCHYARD_API_REQUEST_TIMEOUT", "-5"),
           ("SWITCHYARD_TRIAL_MAX_CONTACTS", "many"), ("SWITCHYARD_ANALYTICS_PORT", "http")]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), API_BAD)
def test_the_api_settings_read_numbers_the_same_way(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ApiConfig.from_env({name: value})


def test_the_api_settings_keep_their_defaults_and_read_set_values() -> None:
    default = ApiConfig.from_env({})
    assert ApiConfig.from_env({"SWITCHYARD_API_MAX_BODY_BYTES": ""}).max_body_bytes == default.max_body_bytes
    config = ApiConfig.from_env({"SWITCHYARD_API_MAX_BODY_BYTES": "2048", "SWITCHYARD_ANALYTICS_PORT": "0",
                                 "SWITCHYARD_TRIAL_WALL_TIME": "1.5"})  # fmt: skip
    assert (config.max_body_bytes, config.analytics_url, config.trials.wall_time_s) == (2048, None, 1.5)
