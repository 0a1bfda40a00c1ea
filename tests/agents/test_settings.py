from __future__ import annotations

from pathlib import Path

import pytest

from agents.settings import CHECKOUT, Settings, SettingsError


def test_defaults_and_environment() -> None:
    s = Settings.from_env(
        {"SWITCHYARD_PARTITIONS": "12", "SWITCHYARD_LOG_LEVEL": "DEBUG", "SWITCHYARD_DATA": "/x"}
    )
    assert s.partitions == 12 and s.log_level == "debug" and str(s.data_dir) == "/x"
    assert s.bootstrap == "127.0.0.1:9092" and s.external_kafka is None
    assert Settings.from_env({"SWITCHYARD_KAFKA": "10.0.0.1:9000"}).bootstrap == "10.0.0.1:9000"


def test_round_trip_through_the_environment() -> None:
    s = Settings.from_env({"SWITCHYARD_KAFKA": "127.0.0.1:1234", "SWITCHYARD_TOPIC_PREFIX": "t.",
                           "SWITCHYARD_APP_ID": "a", "SWITCHYARD_BATCH_WITHIN": "0.2",
                           "SWITCHYARD_STATE_CACHE_MB": "64"})  # fmt: skip
    assert s.state_cache_mb == 64
    assert Settings.from_env(s.to_env()) == s


def test_batches_wait_for_nothing_extra_by_default() -> None:
    assert Settings.from_env({}).batch_within_s == 0
    assert Settings.from_env({"SWITCHYARD_BATCH_WITHIN": "0"}).batch_within_s == 0
    assert Settings.from_env({"SWITCHYARD_BATCH_WITHIN": "0.05"}).batch_within_s == 0.05


def test_static_membership_is_off_by_default_and_names_a_worker_by_app_id_and_data_dir() -> None:
    assert Settings.from_env({}).group_instance_id is None
    on = {"SWITCHYARD_STATIC_MEMBERSHIP": "on", "SWITCHYARD_APP_ID": "app", "SWITCHYARD_DATA": "/w1"}
    first = Settings.from_env(on)
    assert first.static_membership and first.group_instance_id is not None
    assert first.group_instance_id.startswith("app-")
    assert Settings.from_env(on).group_instance_id == first.group_instance_id  # the same worker restarted
    assert Settings.from_env(first.to_env()) == first  # children get it too
    other_dir = Settings.from_env({**on, "SWITCHYARD_DATA": "/w2"}).group_instance_id
    other_app = Settings.from_env({**on, "SWITCHYARD_APP_ID": "app2"}).group_instance_id
    assert len({first.group_instance_id, other_dir, other_app}) == 3


def test_brokers_we_start_use_the_quick_jit_unless_told_otherwise() -> None:
    assert Settings.from_env({}).kafka_jit == "c1"
    tiered = Settings.from_env({"SWITCHYARD_KAFKA_JIT": "Tiered"})
    assert tiered.kafka_jit == "tiered"
    assert Settings.from_env(tiered.to_env()) == tiered


def test_a_silent_member_is_given_up_after_ten_seconds_unless_told_otherwise() -> None:
    assert Settings.from_env({}).session_timeout_s == 10.0
    quick = Settings.from_env({"SWITCHYARD_SESSION_TIMEOUT": "6"})
    assert quick.session_timeout_s == 6.0
    assert Settings.from_env(quick.to_env()) == quick


BAD = [("SWITCHYARD_PARTITIONS", "eight"), ("SWITCHYARD_WEB_PORT", "-1"), ("SWITCHYARD_BATCH_WITHIN", "soon"),
       ("SWITCHYARD_BATCH_WITHIN", "-0.1"), ("SWITCHYARD_BATCH_SIZE", "0"),
       ("SWITCHYARD_STATIC_MEMBERSHIP", "yes"), ("SWITCHYARD_KAFKA_JIT", "c2"),
       ("SWITCHYARD_STATE_CACHE_MB", "-1"), ("SWITCHYARD_STATE_CACHE_MB", "1.5"),
       ("SWITCHYARD_SESSION_TIMEOUT", "2.5"), ("SWITCHYARD_SESSION_TIMEOUT", "ten")]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_the_default_data_dir_is_the_checkouts_wherever_a_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`switchyard kafka stop` run from ui/ must find the broker `switchyard kafka start` started from the
    checkout's top, not look for one under ui/var."""
    monkeypatch.chdir(tmp_path)
    assert Settings().data_dir == CHECKOUT / "var"
    assert Settings.from_env({}).data_dir == CHECKOUT / "var"
