"""`switchyard loadtest` refuses impossible arguments with one line and exit code 2, before it starts a
broker or a worker."""

from __future__ import annotations

import pytest

from switchyard.commands.loadtest import main


@pytest.mark.parametrize(
    "argv",
    [
        ["--rate", "0"],
        ["--kills", "-1"],
        ["--broker-warmup", "-1"],
        ["--events", "0", "--seconds", "0"],
        ["--duplicates", "1.5"],
        ["--worker-tree", "/nonexistent/checkout"],
    ],
)
def test_impossible_arguments_are_refused_before_anything_starts(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("switchyard loadtest:") and len(err.splitlines()) == 1
