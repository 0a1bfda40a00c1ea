"""The syntax tree of a condition: small immutable nodes, each remembering its source position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

PathSegment: TypeAlias = "str | int"


@dataclass(frozen=True, slots=True)
class Literal:
    """A number, string, true/false/null, or a duration (already in milliseconds)."""

    value: bool | int | float | str | None
    position: int


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Path:
    """``contact.scores.churn_risk``: a root name (contact, event, run, now) and the keys below it."""

    root: str
    segments: tuple[PathSegment, ...]
    position: int

    @property
    def dotted(self) -> str:
        return dotted_path(self.root, self.segments)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Unary:
    """``-x`` or ``not x``."""

    op: str
    operand: Node
    position: int


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic (+ - * /), comparisons (== != < <= > >=) and membership (in, contains, negated)."""

    op: str
    left: Node
    right: Node
    position: int  # of the operator


@dataclass(frozen=True, slots=True)
class Logical:
    """``a and b and c`` / ``a or b``: flattened so long chains do not nest deeply."""

    op: str
    operands: tuple[Node, ...]
    position: int


@dataclass(frozen=True, slots=True)
class Exists:
    """``x exists`` / ``x not exists`` / ``exists(x)``."""

    operand: Node
    negated: bool
    position: int


@dataclass(frozen=True, slots=True)
class Matches:
    """``x matches 'regex'``; the pattern must be a literal so it is checked when compiling."""

    operand: Node
    pattern: str
    negated: bool
    position: int


Node: TypeAlias = "Literal | ListLiteral | Path | Call | Unary | Binary | Logical | Exists | Matches"


def dotted_path(root: str, segments: tuple[PathSegment, ...]) -> str:
    """``contact.attrs.plan``; other keys are shown in brackets: ``event.properties['a-b']``."""
    out = [root]
    for segment in segments:
        if isinstance(segment, int):
            out.append(f"[{segment}]")
        elif segment.isidentifier() and segment.isascii():
            out.append(f".{segment}")
        else:
            out.append(f"[{segment!r}]")
    return "".join(out)
