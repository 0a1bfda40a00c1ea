"""What operators do with values: null handling, coercion between numbers, text and dates, membership.

These functions are total: given any JSON-like values they return a result and never raise.
Rules (documented in docs/conditions.md):
- null compares equal only to null; ordering comparisons with null are false; arithmetic with null is null;
- booleans are not numbers;
- when a number meets a string, the string is read as a number ("42", "0.5") or else as an ISO date
  (epoch ms); if it is neither, equality is false, ordering is false and arithmetic is null;
- two strings compare as text and ``+`` joins them.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Final

from engine.conditions.dates import parse_iso

_NUMERIC: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
MAX_TEXT_FOR_NUMBER: Final = 40
MAX_INT_BITS: Final = 256


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@lru_cache(maxsize=4096)
def text_to_number(text: str) -> int | float | None:
    """A number read from text: "42" -> 42, "0.5" -> 0.5, "2026-01-31" -> epoch ms; otherwise None."""
    stripped = text.strip()
    if len(stripped) > MAX_TEXT_FOR_NUMBER:
        return None
    if _NUMERIC.fullmatch(stripped):
        if "." in stripped or "e" in stripped or "E" in stripped:
            number = float(stripped)
            return number if math.isfinite(number) else None
        return int(stripped)
    return parse_iso(stripped)


def as_number(value: object) -> int | float | None:
    """``value`` as a number for arithmetic and ordering, or None when it has no numeric reading."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return text_to_number(value)
    return None


def as_time(value: object) -> int | None:
    """``value`` as epoch milliseconds: numbers are already ms; strings are ISO dates (or numeric ms)."""
    number = as_number(value)
    if number is None:
        return None
    if isinstance(number, float):
        if not math.isfinite(number):
            return None
        return int(number)
    return number


def equals(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is right
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, str) and isinstance(right, str):
        return left == right
    left_number = isinstance(left, (int, float))
    right_number = isinstance(right, (int, float))
    if left_number and right_number:
        return left == right
    if left_number and isinstance(right, str):
        return text_to_number(right) == left
    if right_number and isinstance(left, str):
        return text_to_number(left) == right
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(equals(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(equals(left[key], right[key]) for key in left)
    return False


def ordered_pair(left: object, right: object) -> tuple[Any, Any] | None:
    """Operands that can be ordered against each other (both numbers or both strings), else None."""
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    left_number = as_number(left)
    if left_number is None:
        return None
    right_number = as_number(right)
    if right_number is None:
        return None
    return left_number, right_number


def less(left: object, right: object) -> bool:
    pair = ordered_pair(left, right)
    return pair is not None and pair[0] < pair[1]


def less_equal(left: object, right: object) -> bool:
    pair = ordered_pair(left, right)
    return pair is not None and pair[0] <= pair[1]


def greater(left: object, right: object) -> bool:
    pair = ordered_pair(left, right)
    return pair is not None and pair[0] > pair[1]


def greater_equal(left: object, right: object) -> bool:
    pair = ordered_pair(left, right)
    return pair is not None and pair[0] >= pair[1]


def member(needle: object, haystack: object) -> bool:
    """``needle in haystack``: item of a list, substring of a string, or key of an object."""
    if needle is None or haystack is None:
        return False
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, (list, tuple)):
        return any(equals(needle, item) for item in haystack)
    if isinstance(haystack, (set, frozenset)):
        return any(equals(needle, item) for item in haystack)
    if isinstance(haystack, Mapping):
        return isinstance(needle, str) and needle in haystack
    return False


def add(left: object, right: object) -> object:
    if type(left) is int and type(right) is int:
        return left + right
    if isinstance(left, str) and isinstance(right, str):
        return left + right
    return _arithmetic(operator.add, left, right)


def subtract(left: object, right: object) -> object:
    if type(left) is int and type(right) is int:
        return left - right
    return _arithmetic(operator.sub, left, right)


def multiply(left: object, right: object) -> object:
    a, b = as_number(left), as_number(right)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        return None  # nothing real needs numbers this large, and they would be slow
    return _arithmetic(operator.mul, a, b)


def divide(left: object, right: object) -> object:
    return _arithmetic(operator.truediv, left, right)


def negate(value: object) -> object:
    number = as_number(value)
    return None if number is None else -number


def truthy(value: object) -> bool:
    """How a value counts as a condition result: null, false, 0, '' and empty lists are false."""
    if value is None or value is False:
        return False
    if value is True:
        return True
    if isinstance(value, (int, float, str, list, tuple, dict)):
        return bool(value)
    return True


def child(value: object, key: str | int) -> object:
    """``value.key`` / ``value[key]``: a missing key, a wrong type or an index out of range give None."""
    if type(value) is dict:
        return value.get(key)
    if isinstance(value, Mapping):
        try:
            return value.get(key)
        except TypeError:
            return None
    if isinstance(key, int) and isinstance(value, (list, tuple)):
        return value[key] if -len(value) <= key < len(value) else None
    return None


def length(value: object) -> int | None:
    if isinstance(value, (str, list, tuple, dict)):
        return len(value)
    return None


def _arithmetic(operation: Callable[[Any, Any], Any], left: object, right: object) -> int | float | None:
    a = as_number(left)
    if a is None:
        return None
    b = as_number(right)
    if b is None:
        return None
    try:
        result: int | float = operation(a, b)
    except (ZeroDivisionError, OverflowError):
        return None
    if isinstance(result, float) and not math.isfinite(result):
        return None
    return result
