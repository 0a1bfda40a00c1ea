"""Recommendations: plain suggestions, each with the numbers behind it, and none without support."""

from __future__ import annotations

import pytest

from ml.exceptions import MLError
from ml.recommend import ordinal, recommend


def _row(node: str, position: int, sent: int, opened: int, clicked: int = 0, converted: int = 0, **more):
    return {
        "workflow": "welcome",
        "node": node,
        "position": position,
        "sent": sent,
        "opened": opened,
        "clicked": clicked,
        "converted": converted,
        **more,
    }


def test_a_credible_open_rate_drop_is_reported_with_its_numbers() -> None:
    rows = [_row("email_1", 1, 1000, 400, 80, 20), _row("email_2", 2, 900, 216, 43, 11)]
    suggestions = [s for s in recommend(rows) if s.kind == "open_rate_drop"]
    assert len(suggestions) == 1
    s = suggestions[0]
    assert s.node == "email_2"
    assert s.figures["open_rate"] == pytest.approx(0.24) and s.figures["reference_open_rate"] == 0.4
    assert s.figures["relative_gap"] == pytest.approx(0.4)
    assert "2nd email's open rate (24.0%, 216 of 900" in s.message
    assert "40% below the 1st (40.0%, 400 of 1000" in s.message and "later send time" in s.message


def test_no_suggestion_from_small_samples_or_noise() -> None:
    small = [_row("a", 1, 60, 30), _row("b", 2, 60, 10)]  # a big gap, too few sends
    noisy = [_row("a", 1, 200, 50), _row("b", 2, 200, 40)]  # 20% below: under the bar
    assert recommend(small) == [] and recommend(noisy) == []


def test_click_conversion_and_drop_off_suggestions_carry_figures() -> None:
    rows = [
        _row("e1", 1, 2000, 800, 160, 60, entered=2000),
        _row("e2", 2, 1800, 700, 40, 10, entered=1800),
        _row("e3", 3, 500, 200, 40, 15, entered=500),
    ]
    kinds = {(s.kind, s.node) for s in recommend(rows)}
    assert ("click_rate_low", "e2") in kinds
    assert ("conversion_drop", "e2") in kinds
    assert ("drop_off", "e3") in kinds
    for suggestion in recommend(rows):
        assert suggestion.figures, suggestion
        assert any(char.isdigit() for char in suggestion.message)
        assert suggestion.severity > 0


def test_suggestions_are_ordered_by_severity_and_rows_are_validated() -> None:
    rows = [_row("a", 1, 1000, 500), _row("b", 2, 1000, 350), _row("c", 3, 1000, 100)]
    gaps = [s.severity for s in recommend(rows)]
    assert gaps == sorted(gaps, reverse=True) and len(gaps) >= 2
    with pytest.raises(MLError, match="row 0"):
        recommend([{"node": "x"}])
    with pytest.raises(MLError, match="negative"):
        recommend([_row("a", 1, -5, 0)])
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
    ]
