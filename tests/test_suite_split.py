"""How `make test` splits the suite: tests/conftest.py marks every test that uses the broker as `kafka`, and
scripts/run-tests.sh runs the two halves side by side and exits with the first failure's code (pytest's 5,
"no tests selected", only when both halves are empty). Each case runs pytest in a scratch directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN_TESTS = REPO / "scripts" / "run-tests.sh"
PYTEST_INI = "[pytest]\nmarkers =\n    kafka: needs the broker\n"

# The suite's own marking hook, with a stand-in broker fixture: tests that use it directly or through
# another fixture must be selected by `-m kafka`, the others by `-m "not kafka"`.
MARKING_CONFTEST = """
import pytest
from tests.conftest import pytest_collection_modifyitems  # noqa: F401

@pytest.fixture
def kafka_broker():
    return "broker"

@pytest.fixture
def topic(kafka_broker):
    return kafka_broker
"""
MARKING_TESTS = """
def test_uses_the_broker(kafka_broker):
    pass

def test_uses_it_through_a_fixture(topic):
    pass

def test_needs_no_broker():
    pass
"""


def write(directory: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (directory / name).write_text(text)


def selected(directory: Path, expression: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", expression],
        cwd=directory,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted(line.split("::")[1] for line in done.stdout.splitlines() if "::" in line)


def test_a_test_using_the_broker_is_a_kafka_test_without_a_marker(tmp_path: Path) -> None:
    write(
        tmp_path, {"pytest.ini": PYTEST_INI, "conftest.py": MARKING_CONFTEST, "test_some.py": MARKING_TESTS}
    )
    assert selected(tmp_path, "kafka") == ["test_uses_it_through_a_fixture", "test_uses_the_broker"]
    assert selected(tmp_path, "not kafka") == ["test_needs_no_broker"]


PASSING_UNIT = "def test_unit():\n    pass\n"
FAILING_UNIT = "def test_unit():\n    assert 1 == 2\n"
PASSING_KAFKA = "import pytest\n\n@pytest.mark.kafka\ndef test_kafka():\n    pass\n"
FAILING_KAFKA = "import pytest\n\n@pytest.mark.kafka\ndef test_kafka():\n    assert 1 == 2\n"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"test_unit.py": PASSING_UNIT}, 0),  # the broker half selects nothing
        ({"test_kafka.py": PASSING_KAFKA}, 0),  # the other half selects nothing
        ({"test_unit.py": FAILING_UNIT, "test_kafka.py": PASSING_KAFKA}, 1),
        ({"test_unit.py": PASSING_UNIT, "test_kafka.py": FAILING_KAFKA}, 1),
        ({"test_nothing.py": "X = 1\n"}, 5),  # both halves empty
    ],
    ids=["unit-only", "kafka-only", "unit-fails", "kafka-fails", "empty"],
)
def test_run_tests_exits_with_the_first_failure(tmp_path: Path, files: dict[str, str], expected: int) -> None:
    write(tmp_path, {"pytest.ini": PYTEST_INI, **files})
    done = subprocess.run(
        ["bash", str(RUN_TESTS), "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == expected, done.stdout + done.stderr
    # the other half's output is shown too, after the broker half's
    assert "run alongside" in done.stdout
