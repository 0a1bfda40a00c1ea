"""Which build of the core this process runs: the engine, the models and the state codec interpreted, or
compiled by mypyc into extension modules (`python -m loadtest.compiled_tree` builds such a copy of the
tree). The worker says which when it is ready, so a deployment can tell what it runs."""

from __future__ import annotations

import importlib.machinery
import importlib.util

# One module of each compiled part; compiled_tree checks these after a build.
CORE_MODULES = ("engine.step", "ml.scoring", "tables.codec")
COMPILED, INTERPRETED = "compiled (mypyc)", "interpreted"


def is_extension(path: str | None) -> bool:
    return path is not None and path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def compiled_modules(names: tuple[str, ...] = CORE_MODULES) -> list[str]:
    """The modules of ``names`` that import from extension modules. Found without importing them (their
    packages are imported): ``ml.scoring`` imports River, which a worker with scoring off never needs."""
    found = []
    for name in names:
        spec = importlib.util.find_spec(name)
        if spec is not None and is_extension(spec.origin):
            found.append(name)
    return found


def describe(names: tuple[str, ...] = CORE_MODULES) -> str:
    compiled = compiled_modules(names)
    if not compiled:
        return INTERPRETED
    if len(compiled) == len(names):
        return COMPILED
    return f"partly compiled (mypyc): {', '.join(compiled)} of {', '.join(names)}"
