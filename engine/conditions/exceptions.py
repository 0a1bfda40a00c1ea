"""Errors raised while reading a condition: what went wrong, where, and how to fix it."""

from __future__ import annotations


class ConditionError(ValueError):
    """A condition that cannot be compiled.

    ``position`` is a 0-based character offset into ``source``; ``str(err)`` shows the
    offending line with a caret under that position, followed by a hint when there is one.
    """

    def __init__(self, message: str, position: int, source: str, hint: str | None = None) -> None:
        super().__init__(message, position, source, hint)
        self.message = message
        self.position = max(0, min(position, len(source)))
        self.source = source
        self.hint = hint

    @property
    def line(self) -> int:
        """1-based line of the position (conditions written as YAML blocks may span lines)."""
        return self.source.count("\n", 0, self.position) + 1

    @property
    def column(self) -> int:
        """1-based column of the position within its line."""
        return self.position - (self.source.rfind("\n", 0, self.position) + 1) + 1

    def __str__(self) -> str:
        start = self.source.rfind("\n", 0, self.position) + 1
        end = self.source.find("\n", self.position)
        text = self.source[start : end if end != -1 else len(self.source)]
        # Keep tabs in the padding so the caret lines up however the terminal expands them.
        padding = "".join("\t" if ch == "\t" else " " for ch in text[: self.position - start])
        where = (
            f"line {self.line}, column {self.column}" if "\n" in self.source else f"position {self.position}"
        )
        lines = [f"{self.message} ({where})", f"    {text}", f"    {padding}^"]
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)
