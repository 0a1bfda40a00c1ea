"""Templates by name from the templates dir (``<name>.html``, ``<name>.txt``), rendered by engine.templates.

Names are plain (letters, digits, ``_ - .``, no path separators), so a rendered param cannot reach
outside the directory. The context is the engine's (``contact``, ``event``, ``run``, ``now``) plus
``params`` (the action's rendered params) and ``action`` (its id and links back to the run).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.templates import TemplateError, render, render_html, template_context
from sinks.exceptions import PermanentFailure
from sinks.records import Action

NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def action_context(action: Action) -> dict[str, Any]:
    """What a template file is rendered with: the contact as the action carries it, its params, itself."""
    context = template_context(action.profile, None, None, action.ts or 0, action.contact_id)
    context["params"] = action.params
    context["action"] = {**action.meta(), "type": action.type, "contact_id": action.contact_id}
    return context


class TemplateFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def source(self, name: str, suffix: str) -> str | None:
        """The text of ``<name><suffix>``, or None if there is no such file."""
        if not NAME.match(name) or ".." in name:
            raise PermanentFailure(f"bad template name {name!r}")
        return _read(self.directory / f"{name}{suffix}")

    def names(self, suffixes: tuple[str, ...] = (".html", ".txt")) -> dict[str, list[str]]:
        """Every template in the directory, with the parts it has: {"cart_reminder": [".html"], ...}."""
        found: dict[str, list[str]] = {}
        if not self.directory.is_dir():
            return found
        for path in sorted(self.directory.iterdir()):
            if path.suffix in suffixes and path.is_file() and NAME.match(path.stem) and ".." not in path.stem:
                found.setdefault(path.stem, []).append(path.suffix)
        return found

    def render(self, name: str, suffix: str, context: dict[str, Any]) -> str | None:
        text = self.source(name, suffix)
        if text is None:
            return None
        try:
            return render_html(text, context) if suffix == ".html" else render(text, context)
        except TemplateError as exc:
            raise PermanentFailure(f"template {name}{suffix}: {exc}") from None


@lru_cache(maxsize=256)
def _read_cached(path: Path, mtime_ns: int) -> str:
    return path.read_text(encoding="utf-8")


def _read(path: Path) -> str | None:
    try:
        return _read_cached(path, path.stat().st_mtime_ns)
    except FileNotFoundError:
        return None
