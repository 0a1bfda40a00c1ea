"""The worker's word on its core: interpreted, compiled, or partly compiled (a build that went wrong)."""

from __future__ import annotations

from agents.core_build import COMPILED, INTERPRETED, compiled_modules, describe, is_extension
from tests.agents.fixtures import modules_imported_by


def test_extension_modules_are_told_from_sources() -> None:
    assert is_extension("/x/engine/step.cpython-311-x86_64-linux-gnu.so")
    assert not is_extension("/x/engine/step.py") and not is_extension(None)  # None: a built-in module


def test_describe_names_what_is_compiled() -> None:
    assert compiled_modules(("_ctypes", "json")) == ["_ctypes"]  # the standard library has both kinds
    assert describe(("json", "tomllib")) == INTERPRETED
    assert describe(("_ctypes",)) == COMPILED
    assert describe(("_ctypes", "json")) == "partly compiled (mypyc): _ctypes of _ctypes, json"


def test_describing_the_core_imports_none_of_it() -> None:
    imported = modules_imported_by("from agents.core_build import describe\ndescribe()")
    assert not imported & {"engine.step", "ml.scoring", "tables.codec", "river"}
    assert {"engine", "ml", "tables"} <= imported  # their packages are, to find them
