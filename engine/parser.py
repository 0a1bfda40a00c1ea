"""Read a workflow definition (YAML or JSON text) into plain data plus the source position of every value.

``yaml.compose`` keeps a mark on every node, so later checks can name the file line and column of any
path such as ``("nodes", "wait_2", "timeout")``. The loader is YAML 1.2-like on purpose: ``yes``/``no``/
``on``/``off`` stay strings and timestamps stay strings, so YAML and JSON mean the same data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from engine.exceptions import WorkflowParseError

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    line: int  # 1-based
    column: int  # 1-based
    style: str | None = None  # YAML scalar style: None plain, "'" or '"' quoted, "|" or ">" block


@dataclass
class Document:
    """Parsed definition: ``data`` and ``marks`` (path -> position of the value there).

    The position of the key naming a path is stored at ``path + ("@key",)``.
    """

    data: Any
    marks: dict[Path, Mark] = field(default_factory=dict)
    source_name: str | None = None
    duplicate_keys: list[tuple[Path, Mark]] = field(default_factory=list)

    def mark(self, path: Path) -> Mark | None:
        """Position of ``path``, or of its closest parent that has one."""
        probe = path
        while True:
            found = self.marks.get(probe)
            if found is not None or not probe:
                return found
            probe = probe[:-1]

    def key_mark(self, path: Path) -> Mark | None:
        """Position of the key naming ``path`` (for unknown-field errors), else of the value."""
        return self.marks.get((*path, "@key")) or self.mark(path)


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 surprises (yes/no/on/off booleans, timestamps, sexagesimals), and
    without aliases: `*name` shares a node, so a few hundred bytes of nested aliases stand for a tree of
    millions of nodes (and one alias can refer to itself); a workflow writes its values out."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, f"aliases (*{event.anchor}) are not allowed in a workflow: write the value out",
                event.start_mark,
            )  # fmt: skip
        node: yaml.Node | None = super().compose_node(parent, index)
        return node


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9_]*)$"), list("-+0123456789")
)


def parse_text(text: str, source_name: str | None = None) -> Document:
    """Parse one YAML/JSON document. Raises WorkflowParseError with the line of a syntax error."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise WorkflowParseError("the file is empty: expected a workflow definition (a mapping)", 1, 1)
        document = Document(data=None, source_name=source_name)
        _collect_marks(node, (), document)
        document.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = err.problem or err.context or "syntax error"
        raise WorkflowParseError(f"not valid YAML/JSON: {problem}", line, column) from err
    except yaml.YAMLError as err:
        raise WorkflowParseError(f"not valid YAML/JSON: {err}") from err
    finally:
        loader.dispose()
    if not isinstance(document.data, dict):
        raise WorkflowParseError("a workflow definition must be a mapping (id, version, nodes ...)", 1, 1)
    return document


def document_from_data(data: Any, source_name: str | None = None) -> Document:
    """Wrap already-parsed data (JSON from the API) without positions."""
    return Document(data=data, source_name=source_name)


def _collect_marks(node: yaml.Node, path: Path, document: Document) -> None:
    start = node.start_mark
    style = node.style if isinstance(node, yaml.ScalarNode) else None
    document.marks[path] = Mark(start.line + 1, start.column + 1, style)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            child = (*path, key)
            key_mark = Mark(key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in seen:
                document.duplicate_keys.append((child, key_mark))
            seen.add(key)
            document.marks[(*child, "@key")] = key_mark
            _collect_marks(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect_marks(item, (*path, index), document)


def position_in_scalar(mark: Mark, source: str, offset: int) -> tuple[int, int]:
    """Line and column in the file of character ``offset`` of a scalar that starts at ``mark``.

    Exact for plain and quoted one-line scalars; for block scalars (``|``/``>``) the line is exact and
    the column assumes the block's indentation is the key's plus two.
    """
    before = source[:offset]
    newlines = before.count("\n")
    if mark.style in ("|", ">"):
        column_in_line = offset - (before.rfind("\n") + 1)
        return mark.line + 1 + newlines, mark.column + 2 + column_in_line
    if newlines:
        return mark.line + newlines, offset - before.rfind("\n")
    shift = 1 if mark.style in ("'", '"') else 0
    return mark.line, mark.column + shift + offset
