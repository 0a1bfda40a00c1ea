"""A copy of this tree with the engine, the models and the state codec compiled by mypyc, for benchmarks.

An experiment for issue 16, not the way the worker runs: the copy holds the tracked files of this
checkout, and `mypyc` (it comes with mypy, a dev dependency) builds the modules of `engine/`, `ml/` and
`tables/codec.py` into C extensions next to their sources, except those it cannot build (COMPILE_EXCLUDED).
Python imports an extension module before a `.py` of the same name, so the benchmarks run from the copy's
directory use the compiled modules and the original tree stays as it is:

    .venv/bin/python -m loadtest.compiled_tree --out /tmp/sy-compiled    # about 9 minutes on one core
    cd /tmp/sy-compiled && /path/to/.venv/bin/python -m loadtest.core_bench
    cd /tmp/sy-compiled && /path/to/.venv/bin/python -m loadtest.runtime_bench --workers 1 --baselines b
"""

from __future__ import annotations

import argparse
import importlib.machinery
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMPILED_PACKAGES = ("engine", "ml")
COMPILED_FILES = ("tables/codec.py",)
# What mypyc refuses, with its reason: exceptions derive from built-in types; templates.py assigns several
# names in one statement in a class body; parser.py assigns a class attribute not declared ClassVar.
COMPILE_EXCLUDED = ("exceptions.py", "engine/templates.py", "engine/parser.py")
CHECK_IMPORTS = ("engine.step", "ml.scoring", "tables.codec")


def tracked_files(repo: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def copy_tree(repo: Path, out: Path) -> None:
    """The tracked files of ``repo`` into ``out`` (which must not exist yet)."""
    if out.exists():
        raise SystemExit(f"{out} exists; remove it or give another --out")
    for name in tracked_files(repo):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)


def modules_to_compile(root: Path) -> list[str]:
    found = [
        str(p.relative_to(root))
        for package in COMPILED_PACKAGES
        for p in sorted((root / package).rglob("*.py"))
    ]
    found += [name for name in COMPILED_FILES if (root / name).exists()]
    return [name for name in found if not any(name == x or name.endswith("/" + x) for x in COMPILE_EXCLUDED)]


def compile_modules(root: Path, modules: list[str], timeout_s: float) -> None:
    mypyc = Path(sys.executable).with_name("mypyc")
    started = time.monotonic()
    result = subprocess.run(
        [str(mypyc), *modules], cwd=root, capture_output=True, text=True, timeout=timeout_s
    )
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines() if ": error:" in line]
        raise SystemExit(
            f"mypyc failed ({result.returncode}):\n" + "\n".join(errors or result.stdout.splitlines()[-20:])
        )
    print(f"compiled {len(modules)} modules in {time.monotonic() - started:.0f} s")


def check_compiled(root: Path) -> None:
    """Each module of CHECK_IMPORTS is imported from ``root`` as an extension module, not its source."""
    probe = (
        "import importlib, sys; print(' '.join(importlib.import_module(m).__file__ for m in sys.argv[1:]))"
    )
    files = subprocess.run(
        [sys.executable, "-c", probe, *CHECK_IMPORTS], cwd=root, check=True, capture_output=True, text=True
    ).stdout.split()
    not_compiled = [name for name in files if not name.endswith(importlib.machinery.EXTENSION_SUFFIXES[0])]
    if not_compiled:
        raise SystemExit(f"imported from source, not compiled: {not_compiled}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="a directory that does not exist yet")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds mypyc may take")
    args = parser.parse_args()
    out = args.out.resolve()
    copy_tree(REPO, out)
    compile_modules(out, modules_to_compile(out), args.timeout)
    check_compiled(out)
    print(
        f"compiled tree: {out}\nrun a benchmark from it: cd {out} && {sys.executable} -m loadtest.core_bench"
    )


if __name__ == "__main__":
    main()
