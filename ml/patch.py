"""JSON-Patch-like edits of a workflow definition: apply a list of ops, and list what changed.

An op is ``{"op": "replace" | "add" | "remove", "path": "/nodes/<node>/...", "value": ...}``; paths are
JSON pointers (``~1`` for ``/``, ``~0`` for ``~``). Pure: the definition given is never modified.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from ml.exceptions import MLError

Op = Mapping[str, Any]
_MISSING = object()


def split_path(path: str) -> list[str]:
    if not path.startswith("/"):
        raise MLError(f"path {path!r} does not start with '/'")
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def value_at(document: Any, path: str) -> Any:
    """The value at `path`, or None when nothing is there."""
    found = _lookup(document, split_path(path))
    return None if found is _MISSING else found


def apply_ops(document: Mapping[str, Any], ops: Sequence[Op]) -> dict[str, Any]:
    """A copy of `document` with every op applied in order; MLError names the op that does not fit."""
    out: dict[str, Any] = copy.deepcopy(dict(document))
    for index, op in enumerate(ops):
        kind, tokens = op.get("op"), split_path(str(op.get("path", "")))
        parent = _lookup(out, tokens[:-1])
        last = tokens[-1]
        if isinstance(parent, dict):
            if kind in ("replace", "remove") and last not in parent:
                raise MLError(f"op {index}: nothing at {op['path']} to {kind}")
            if kind == "remove":
                del parent[last]
            elif kind in ("replace", "add"):
                parent[last] = copy.deepcopy(op.get("value"))
            else:
                raise MLError(f"op {index}: unknown op {kind!r}")
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent) + (kind == "add"):
            position = int(last)
            if kind == "remove":
                del parent[position]
            elif kind == "replace":
                parent[position] = copy.deepcopy(op.get("value"))
            elif kind == "add":
                parent.insert(position, copy.deepcopy(op.get("value")))
            else:
                raise MLError(f"op {index}: unknown op {kind!r}")
        else:
            raise MLError(f"op {index}: no object or list item at {op['path']}")
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any], ops: Sequence[Op]) -> list[dict[str, Any]]:
    """The paths the ops touch, each with its value before and after (None when absent)."""
    paths = list(dict.fromkeys(str(op["path"]) for op in ops))
    return [{"path": p, "before": value_at(before, p), "after": value_at(after, p)} for p in paths]


def _lookup(document: Any, tokens: list[str]) -> Any:
    current = document
    for token in tokens:
        if isinstance(current, dict) and token in current:
            current = current[token]
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return _MISSING
    return current
