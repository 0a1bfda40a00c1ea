"""loadtest.state_files_bench runs end to end on a few rows and reports what it read through."""

from __future__ import annotations

import pytest

from loadtest.state_files_bench import main


def test_a_small_run_compares_the_two_openers(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--rows", "600", "--chunk", "50"])
    out = capsys.readouterr().out
    assert "600 rows" in out
    assert "Faust's opener (baseline)  block cache 8 MB" in out  # its options are lost on the reopen
    assert "worker's opener            block cache 512 MB" in out
    assert out.count("faster (median)") == 3
