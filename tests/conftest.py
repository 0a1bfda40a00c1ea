"""Every test that uses the broker is a `kafka` test, marked or not: `make test` runs the `kafka` tests and
the others in two pytest processes side by side (scripts/run-tests.sh), and `make unit` only the others."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.fixtures"]

BROKER_FIXTURE = "kafka_broker"


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if BROKER_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.kafka)
