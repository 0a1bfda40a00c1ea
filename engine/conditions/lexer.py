"""Turns condition text into tokens (numbers, durations, strings, names, operators) with positions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from engine.conditions.exceptions import ConditionError
from engine.durations import DurationError, parse_duration


class Kind(Enum):
    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    NAME = "name"
    KEYWORD = "keyword"
    OP = "operator"
    END = "end of condition"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the source text of the token
    value: Any  # decoded value: number, milliseconds, string, or the name/operator itself
    position: int


KEYWORDS: Final = frozenset(
    {"and", "or", "not", "in", "contains", "exists", "matches", "true", "false", "null"}
)
# Longest first, so "<=" wins over "<".
OPERATORS: Final = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", "[", "]", ",", ".")
# Spellings from other languages, with the word this language uses instead.
MISSPELLED_OPERATORS: Final = (
    ("===", "=="),
    ("!==", "!="),
    ("&&", "and"),
    ("||", "or"),
    ("<>", "!="),
    ("=", "=="),
    ("&", "and"),
    ("|", "or"),
    ("!", "not"),
)
MAX_NUMBER_LENGTH: Final = 40
DIGITS: Final = frozenset("0123456789")
NAME_START: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
ESCAPES: Final = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "t": "\t", "r": "\r"}

_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_TAIL = re.compile(r"[A-Za-z0-9_.]*")
_SPACE = re.compile(r"\s+")
_DURATION_WORDS: Final = {
    "ms": "ms", "msec": "ms", "millisecond": "ms", "milliseconds": "ms",
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hr": "h", "hrs": "h", "hour": "h", "hours": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip


def tokenize(source: str) -> list[Token]:
    """All tokens of ``source`` followed by an END token; raises ConditionError on bad input."""
    tokens: list[Token] = []
    pos = 0
    length = len(source)
    while True:
        space = _SPACE.match(source, pos)
        if space:
            pos = space.end()
        if pos >= length:
            tokens.append(Token(Kind.END, "", None, length))
            return tokens
        char = source[pos]
        if char in DIGITS:
            token = _read_number(source, pos)
        elif char in "'\"":
            token = _read_string(source, pos)
        elif char in NAME_START:
            token = _read_name(source, pos)
        else:
            token = _read_operator(source, pos)
        tokens.append(token)
        pos = token.position + len(token.text)


def _read_number(source: str, start: int) -> Token:
    match = _NUMBER.match(source, start)
    assert match is not None  # the caller saw a digit
    end = match.end()
    text = match.group()
    if len(text) > MAX_NUMBER_LENGTH:
        raise ConditionError(
            "number too long", start, source, f"numbers have at most {MAX_NUMBER_LENGTH} digits"
        )
    if end < len(source) and source[end] == "%":
        return Token(Kind.NUMBER, text + "%", float(text) / 100, start)
    if end < len(source) and source[end] in NAME_START:
        return _read_duration(source, start)
    if match.group(1) or match.group(2):
        return Token(Kind.NUMBER, text, float(text), start)
    return Token(Kind.NUMBER, text, int(text), start)


def _read_duration(source: str, start: int) -> Token:
    word = _WORD_TAIL.match(source, start)
    assert word is not None
    text = word.group().rstrip(".")
    if len(text) > MAX_NUMBER_LENGTH:
        raise ConditionError("duration too long", start, source, "write a duration such as 30d or 1d12h")
    try:
        return Token(Kind.DURATION, text, parse_duration(text), start)
    except DurationError:
        pass
    number = re.match(r"[0-9]+(?:\.[0-9]+)?", text)
    assert number is not None
    unit = text[number.end() :]
    hint = "durations are a whole number and a unit: ms, s, m, h, d or w (e.g. 90s, 15m, 24h, 30d, 1d12h)"
    if "." in number.group():
        hint = "durations take whole numbers: write 1d12h rather than 1.5d, or 90m rather than 1.5h"
    elif unit.lower() in _DURATION_WORDS:
        hint = f"did you mean {number.group()}{_DURATION_WORDS[unit.lower()]}?"
    raise ConditionError(f"invalid duration {text!r}", start, source, hint)


def _read_string(source: str, start: int) -> Token:
    quote = source[start]
    pos = start + 1
    parts: list[str] = []
    while pos < len(source):
        char = source[pos]
        if char == quote:
            return Token(Kind.STRING, source[start : pos + 1], "".join(parts), start)
        if char == "\\":
            escaped = source[pos + 1 : pos + 2]
            if escaped not in ESCAPES:
                raise ConditionError(
                    f"unknown escape '\\{escaped}' in string",
                    pos,
                    source,
                    "inside strings use \\\\ \\' \\\" \\n \\t or \\r",
                )
            parts.append(ESCAPES[escaped])
            pos += 2
            continue
        parts.append(char)
        pos += 1
    raise ConditionError("unterminated string", start, source, f"close the string with {quote}")


def _read_name(source: str, start: int) -> Token:
    match = _NAME.match(source, start)
    assert match is not None
    text = match.group()
    kind = Kind.KEYWORD if text in KEYWORDS else Kind.NAME
    return Token(kind, text, text, start)


def _read_operator(source: str, start: int) -> Token:
    for wrong, right in MISSPELLED_OPERATORS:
        if source.startswith(wrong, start) and not any(
            source.startswith(op, start) and len(op) >= len(wrong) for op in OPERATORS
        ):
            raise ConditionError(f"unknown operator {wrong!r}", start, source, f"did you mean {right!r}?")
    for op in OPERATORS:
        if source.startswith(op, start):
            return Token(Kind.OP, op, op, start)
    char = source[start]
    hint = None
    if char in "`\u2018\u2019\u201c\u201d":
        hint = "quote strings with plain ' or \""
    elif char == "%":
        hint = "percentages are written right after a number, e.g. 70%"
    raise ConditionError(f"unexpected character {char!r}", start, source, hint)
