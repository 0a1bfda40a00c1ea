"""The workflow condition language: ``contact.plan == 'pro' and now - contact.last_seen > 30d``.

Text is tokenized, parsed to a syntax tree and compiled into nested closures once; evaluating a
compiled condition against a Scope never raises on missing data. See docs/conditions.md.
"""

from engine.conditions.compiler import KNOWN_FUNCTIONS, Condition, compile_condition
from engine.conditions.exceptions import ConditionError
from engine.conditions.functions import FUNCTIONS
from engine.conditions.parser import parse
from engine.conditions.scope import Evaluator, Scope

__all__ = [
    "FUNCTIONS",
    "KNOWN_FUNCTIONS",
    "Condition",
    "ConditionError",
    "Evaluator",
    "Scope",
    "compile_condition",
    "parse",
]
