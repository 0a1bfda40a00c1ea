"""A copy of this tree with the engine, the models and the state codec compiled by mypyc: the worker and
the benchmarks run from it about 1.4 times faster (README, Performance).

The copy holds the tracked files of this checkout and the builder UI it has built (BUILT), and `mypyc`
(it comes with mypy, a dev dependency) builds the modules of `engine/`, `ml/` and `tables/codec.py` into
C extensions next to their sources, except those it cannot build (COMPILE_EXCLUDED). Python imports an
extension module before a `.py` of the same name, so what runs from the copy's directory uses the
compiled modules, and this tree stays as it is: an edit here never hides behind a stale build. The copy
is a build artifact, like a wheel: rebuild it after a change. The worker logs which core it runs
(agents/core_build.py).

    make native            # .native/, 8-15 minutes on one core
    make native-test       # the engine and model tests against it
    cd .native && ../.venv/bin/python -m switchyard worker
    cd .native && ../.venv/bin/python -m loadtest.runtime_bench --workers 1 --baselines b

It is not part of `make test`: the build alone takes about half the suite's time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from agents.core_build import COMPILED

REPO = Path(__file__).resolve().parents[1]
COMPILED_PACKAGES = ("engine", "ml")
COMPILED_FILES = ("tables/codec.py",)
# Built, not tracked, and served by the worker: the builder UI (`make ui`).
BUILT = ("ui/dist",)
# What mypyc refuses, with its reason: exceptions derive from built-in types; templates.py assigns several
# names in one statement in a class body; parser.py assigns a class attribute not declared ClassVar.
COMPILE_EXCLUDED = ("exceptions.py", "engine/templates.py", "engine/parser.py")


def tracked_files(repo: Path) -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=repo, check=True, capture_output=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def copy_tree(repo: Path, out: Path) -> None:
    """The tracked files of ``repo`` into ``out`` (which must not exist yet), and the built ones of BUILT
    that ``repo`` has."""
    if out.exists():
        raise SystemExit(f"{out} exists; remove it or give another --out")
    for name in tracked_files(repo):
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)
    for name in BUILT:
        if (repo / name).is_dir():
            shutil.copytree(repo / name, out / name)


def differing_files(repo: Path, copy: Path) -> list[str]:
    """The tracked files of ``repo`` whose bytes ``copy`` does not have (changed since the copy was made,
    or missing from it): a copy that lists any runs other code than ``repo`` holds."""
    return [
        name
        for name in tracked_files(repo)
        if not (copy / name).is_file() or (copy / name).read_bytes() != (repo / name).read_bytes()
    ]


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
    """Each of agents.core_build.CORE_MODULES imports from ``root`` as an extension module, not its source."""
    probe = "from agents.core_build import describe; print(describe())"
    answer = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    if answer != COMPILED:
        raise SystemExit(f"the core of {root} is not compiled: {answer or 'no answer'}")


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
