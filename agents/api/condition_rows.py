"""POST /v1/conditions/explain: a condition as the builder's rows (field, operator, value) grouped by and/or,
read with the engine's own parser; anything richer (arithmetic, calls, `not (...)`, a field on both
sides) is answered as not representable, and the builder then shows the raw expression.

A group is ``{"op": "and"|"or", "items": [row | group, ...]}``. A row is ``{"field": "event.url",
"op": "contains", "type": "text", "value": "/pricing"}``: ``type`` is text (the decoded string), number
(the literal as written: ``42``, ``-1.5``, ``70%``, ``30d``), boolean (``true``/``false``) or none (for
exists); ``in``/``not in`` take a list of texts or numbers. The builder writes rows back as text (ui/src/
conditionText.js), quoting strings as the lexer reads them (``quote`` below is the same rule).
"""

from __future__ import annotations

import re
from typing import Any, Final

from engine.conditions import ConditionError, compile_condition, parse
from engine.conditions.lexer import Kind, Token, tokenize
from engine.conditions.nodes import Binary, Exists, ListLiteral, Literal, Logical, Matches, Node, Path

FIELD_ROOTS: Final = frozenset({"contact", "event", "run"})
ROW_OPERATORS: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "contains", "not contains"})
LIST_OPERATORS: Final = frozenset({"in", "not in"})
NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
QUOTED: Final = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class NotRows(Exception):
    """The condition is valid, but the row builder cannot show it (the message says what part)."""


def explain(source: str) -> dict[str, Any]:
    """{"valid", "error", "rows", "reason"}: the rows when representable, else the reason it is not."""
    try:
        compile_condition(source)
    except ConditionError as err:
        error = {"message": err.message, "position": err.position, "hint": err.hint}
        return {"valid": False, "error": error, "rows": None, "reason": None}
    reader = _Reader(tokenize(source))
    try:
        rows = reader.group(parse(source))
    except NotRows as why:
        return {"valid": True, "error": None, "rows": None, "reason": f"not representable as rows: {why}"}
    return {"valid": True, "error": None, "rows": rows, "reason": None}


def quote(text: str) -> str:
    """``text`` as a single-quoted string literal of the condition language."""
    return "'" + "".join(QUOTED.get(char, char) for char in text) + "'"


def field_text(path: Path) -> str:
    """The path as the builder writes it: ``event.url``, ``contact.counts['email.opened']``, ``run.x[0]``."""
    out = [path.root]
    for segment in path.segments:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif NAME.fullmatch(segment):
            out.append(f".{segment}")
        else:
            out.append(f"[{quote(segment)}]")
    return "".join(out)


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = {token.position: index for index, token in enumerate(tokens)}

    def group(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Logical):
            return {"op": node.op, "items": [self.item(operand) for operand in node.operands]}
        return {"op": "and", "items": [self.row(node)]}

    def item(self, node: Node) -> dict[str, Any]:
        return self.group(node) if isinstance(node, Logical) else self.row(node)

    def row(self, node: Node) -> dict[str, Any]:
        if isinstance(node, Exists):
            return {"field": self.field(node.operand), "op": "not exists" if node.negated else "exists",
                    "type": "none", "value": None}  # fmt: skip
        if isinstance(node, Matches):
            return {"field": self.field(node.operand), "op": "not matches" if node.negated else "matches",
                    "type": "text", "value": node.pattern}  # fmt: skip
        if not isinstance(node, Binary) or node.op not in ROW_OPERATORS | LIST_OPERATORS:
            raise NotRows("only comparisons of a field with a value, joined by and/or")
        field = self.field(node.left)
        if node.op in LIST_OPERATORS:
            kind, items = self.list_value(node.right)
            return {"field": field, "op": node.op, "type": kind, "value": items}
        kind, value = self.scalar(node.right)
        return {"field": field, "op": node.op, "type": kind, "value": value}

    def field(self, node: Node) -> str:
        if not isinstance(node, Path) or node.root not in FIELD_ROOTS or not node.segments:
            raise NotRows("the left side of each test must be a contact, event or run field")
        return field_text(node)

    def scalar(self, node: Node) -> tuple[str, str]:
        if not isinstance(node, Literal) or node.value is None:
            raise NotRows("the right side of each test must be a text, number or true/false")
        if isinstance(node.value, bool):
            return "boolean", "true" if node.value else "false"
        if isinstance(node.value, str):
            return "text", node.value
        return "number", self.written(node.position)

    def list_value(self, node: Node) -> tuple[str, list[str]]:
        if not isinstance(node, ListLiteral) or not node.items:
            raise NotRows("'in' needs a list of values, e.g. ['a', 'b']")
        scalars = [self.scalar(item) for item in node.items]
        kinds = {kind for kind, _ in scalars}
        values = [value for _, value in scalars]
        if len(kinds) != 1 or kinds & {"boolean"}:
            raise NotRows("a list must be all texts or all numbers")
        if "text" in kinds and any("," in value for value in values):
            raise NotRows("a text in a list contains a comma")
        return kinds.pop(), values

    def written(self, position: int) -> str:
        """A number or duration literal as written (the parser folds ``-5`` into one literal)."""
        index = self.at[position]
        token = self.tokens[index]
        if token.text != "-":
            return token.text
        after = self.tokens[index + 1]
        if after.kind not in (Kind.NUMBER, Kind.DURATION):
            raise NotRows("write a negative number as -5, not with several signs")
        return f"-{after.text}"
