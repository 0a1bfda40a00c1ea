"""Condition compile errors: exact positions, messages, hints, caret rendering, and garbage input."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.conditions import ConditionError, Scope, compile_condition
from engine.conditions.compiler import compile_uncached

# (source, position, words in the message, words in the hint or None for no hint check)
ERROR_CASES = [
    ("", 0, "empty condition", None),
    ("contact.plan = 'pro'", 13, "unknown operator '='", "did you mean '=='?"),
    ("contact.plan == 'pro' && has_tag('x')", 22, "unknown operator '&&'", "did you mean 'and'?"),
    ("a || b", 2, "unknown operator '||'", "did you mean 'or'?"),
    ("has_tag('vip') AND true", 15, "unexpected 'AND'", "did you mean 'and'?"),
    ("contact.plan == 'pro", 16, "unterminated string", "close the string with '"),
    ('event.url contains "pricing', 19, "unterminated string", 'close the string with "'),
    ("hsa_tag('vip')", 0, "unknown function 'hsa_tag'", "did you mean 'has_tag'? known: abs,"),
    ("contact.open_rate > 0.5 and cuont('x') > 1", 28, "unknown function 'cuont'", "did you mean 'count'?"),
    ("has_tag()", 0, "has_tag() takes 1 argument (0 given)", None),
    ("1 + rate('email.opened')", 4, "rate() takes 2 to 3 arguments (1 given)", None),
    ("hour_of_day(now, 'Europe/Paris')", 0, "hour_of_day() takes 0 to 1 arguments (2 given)", None),
    ("contcat.plan == 'x'", 0, "unknown name 'contcat'", "did you mean 'contact'?"),
    ("contact.plan == pro", 16, "unknown name 'pro'", "text values need quotes: 'pro'"),
    ("True", 0, "unknown name 'True'", "did you mean 'true'?"),
    ("1 < 2 < 3", 6, "comparisons cannot be chained", "combine them with 'and'"),
    ("now - contact.last_seen > 30days", 26, "invalid duration '30days'", "did you mean 30d?"),
    ("now - 1.5d", 6, "invalid duration '1.5d'", "whole numbers"),
    ("(contact.plan == 'pro'", 22, "expected ')'", "the '(' at position 0 is not closed"),
    ("contact.plan == 'pro')", 21, "unmatched ')'", None),
    ("contact.plan ==", 15, "expected a value after '=='", "ends too early"),
    ("contact.plan == 'pro' and", 25, "expected a value after 'and'", None),
    ("date('2026-13-45')", 5, "not a date: '2026-13-45'", "ISO 8601"),
    ("has_tag(42)", 8, "has_tag() needs quoted text here", None),
    ("now.year", 0, "'now' is a time", None),
    ("now() > 0", 0, "'now' is not a function", "write now without ()"),
    ("contact.tags[x]", 13, "a key in brackets must be a quoted string or a whole number", None),
    ("[1, 2", 5, "expected ']'", "the '[' at position 0 is not closed"),
    ("count('x' 'y')", 10, "expected ',' or ')'", "separated by commas"),
    ("event.url matches '('", 18, "invalid pattern", None),
    ("event.url matches 5", 18, "'matches' needs a quoted pattern", None),
    ("contact.plan not 'x'", 13, "unexpected 'not'", "'not in'"),
    ("contact.plan == \u2018pro\u2019", 16, "unexpected character", "plain '"),
    ("1 @ 2", 2, "unexpected character '@'", None),
    ("'\\q'", 1, "unknown escape", None),
    ("__import__('os')", 0, "unknown function '__import__'", None),
    ("(" * 40 + "1" + ")" * 40, 32, "too deeply nested", None),
    ("x" * 10_001, 10_000, "condition too long", None),
]


@pytest.mark.parametrize(("source", "position", "message", "hint"), ERROR_CASES)
def test_error_position_message_and_hint(source: str, position: int, message: str, hint: str | None) -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition(source)
    error = caught.value
    assert error.position == position
    assert message in error.message
    assert error.source == source
    if hint is not None:
        assert error.hint is not None and hint in error.hint


def test_error_is_a_value_error() -> None:
    assert len(ERROR_CASES) >= 12
    with pytest.raises(ValueError):
        compile_condition("contact.plan = 'pro'")


def test_str_shows_source_caret_and_hint() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition("contact.plan = 'pro'")
    lines = str(caught.value).splitlines()
    assert lines[0] == "unknown operator '=' (position 13)"
    assert lines[1] == "    contact.plan = 'pro'"
    assert lines[2] == "    " + " " * 13 + "^"
    assert lines[3] == "hint: did you mean '=='?"
    assert lines[2].index("^") == lines[1].index("=")


def test_multi_line_source_reports_line_and_column() -> None:
    source = "contact.plan == 'pro'\n  and\n  contact.open_rate >> 0.5"
    with pytest.raises(ConditionError) as caught:
        compile_condition(source)
    error = caught.value
    assert source[error.position] == ">"
    assert source[error.position - 1] == ">"  # the second '>' is where a value was expected
    assert (error.line, error.column) == (3, 22)
    lines = str(error).splitlines()
    assert "line 3, column 22" in lines[0]
    assert lines[1] == "      contact.open_rate >> 0.5"
    assert lines[2].index("^") == lines[1].index(">") + 1


def test_caret_keeps_tabs_aligned() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition("\tcontact.plan = 1")
    lines = str(caught.value).splitlines()
    assert lines[2] == "    \t" + " " * 13 + "^"


def test_error_survives_pickling() -> None:
    with pytest.raises(ConditionError) as caught:
        compile_condition("has_tag(")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.message, copy.position, copy.source, copy.hint) == (
        caught.value.message,
        caught.value.position,
        caught.value.source,
        caught.value.hint,
    )


def test_non_text_condition_is_a_condition_error() -> None:
    with pytest.raises(ConditionError):
        compile_condition(42)


_ALPHABET = st.sampled_from([
    *"()[],.'\"\\=!<>+-*/%&|@#$ \t\n0123456789_abcdehmnorstwxyz",
    "and", "or", "not", "in", "contains", "exists", "matches", "contact", "event", "now", "30d", "has_tag",
    "date", "null", "true", "\u2018", "\u00e9", "\u0663", "\u00b2",
])  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(source=st.one_of(st.text(max_size=40), st.lists(_ALPHABET, max_size=25).map("".join)))
def test_garbage_either_compiles_or_raises_condition_error(source: str) -> None:
    try:
        condition = compile_uncached(source)
    except ConditionError as error:
        assert 0 <= error.position <= len(source)
        str(error)
        return
    assert isinstance(condition.evaluate(Scope()), bool)
