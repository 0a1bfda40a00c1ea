"""The core benchmark runs the engine and the models over the runtime benchmark's stream, event by event;
the compiled tree it can run from builds the core's modules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import orjson
import pytest

from agents.scoring import Predictions
from engine.types import ContactState
from engine.workflows import WorkflowSet
from loadtest import core_bench
from loadtest.compiled_tree import REPO, copy_tree, differing_files, modules_to_compile
from loadtest.core_bench import STAGES, CoreFigures, codec_baseline, report, run_core
from loadtest.runtime_workload import generate_workload
from loadtest.step_bench import definitions
from tables.codec import decode_state
from tables.exceptions import StateDecodeError

NOW_MS = 1_767_261_600_000


@pytest.fixture(scope="module")
def stream() -> tuple[list[bytes], list[bytes]]:
    workload = generate_workload(1_500, 400, 0, now_ms=NOW_MS, seed=3)
    return [value for _, value in workload.first_sight], [value for _, value in workload.mixed]


@pytest.fixture(scope="module")
def workflows() -> WorkflowSet:
    return WorkflowSet.from_definitions(definitions())


@pytest.mark.parametrize("ml", [False, True])
def test_every_event_goes_through_the_engine_once(
    stream: tuple[list[bytes], list[bytes]], workflows: WorkflowSet, ml: bool, tmp_path: Path
) -> None:
    first, mixed = stream
    figures = run_core(first, mixed, workflows, Predictions(tmp_path) if ml else None)
    assert figures.events == len(mixed) == len(figures.per_event_ns)
    assert figures.per_event_ns == sorted(figures.per_event_ns)
    states = {contact: orjson.loads(raw) for contact, raw in figures.states.items()}
    assert len(states) == 400
    # the engine's profile counts every event it applied: each event of the stream, once
    applied = sum(sum(state["profile"]["counts"].values()) for state in states.values())
    assert applied == len(first) + len(mixed)
    assert all(("ml" in state) is ml for state in states.values())
    measured = {stage for stage, ns in figures.stage_ns.items() if ns > 0}
    assert measured >= {"state decode", "engine step", "state encode"}
    assert figures.total_ns == sum(figures.per_event_ns)  # the stages add up to the events' times
    assert figures.baseline_ns > 0


def test_the_baseline_times_one_decode_and_encode_per_state_given() -> None:
    a = orjson.dumps({"v": 1, "offset": 3, "x": list(range(50))})
    b = orjson.dumps({"v": 1, "offset": -1})
    assert codec_baseline([a, b, a]) > 0
    with pytest.raises(StateDecodeError):  # it decodes exactly what it is given
        codec_baseline([a, b"not a state"])


def test_the_baseline_decodes_the_states_the_core_decoded(
    stream: tuple[list[bytes], list[bytes]], workflows: WorkflowSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, mixed = stream
    decoded: list[bytes] = []  # every state decode_state is given: the core's, then the baseline's

    def recorded(raw: bytes) -> ContactState:
        decoded.append(raw)
        return decode_state(raw)

    monkeypatch.setattr(core_bench, "decode_state", recorded)
    figures = run_core(first, mixed, workflows, None)
    # the core decodes a contact's state before each of its events but its first: every contact has one
    # first sight, so the last len(mixed) of its decodes are the measured events'
    by_core = len(first) + len(mixed) - len(figures.states)
    measured, by_baseline = decoded[by_core - len(mixed) : by_core], decoded[by_core:]
    assert by_baseline == measured  # the same bytes, in the same order: the state before each event
    assert figures.baseline_bytes == sum(map(len, measured)) > 0
    final = sum(len(figures.states[orjson.loads(value)["contact_id"]]) for value in mixed)
    assert final > figures.baseline_bytes  # the contacts' final states, bigger, are not what the core decoded


def test_the_report_states_each_stage_and_the_ratio_to_the_baseline() -> None:
    stage_ns = dict.fromkeys(STAGES, 0) | {"engine step": 3_000_000, "state decode": 1_000_000}
    figures = CoreFigures(
        events=1_000, stage_ns=stage_ns, per_event_ns=list(range(1_000, 5_000, 4)), baseline_ns=500_000,
        states={"a": b"x" * 10, "b": b"y" * 30},
    )  # fmt: skip
    text = report(figures, "title")
    for stage in STAGES:
        assert re.search(rf"^{re.escape(stage)} ", text, re.MULTILINE)
    assert re.search(r"^total\s+4\.00\s+100 %$", text, re.MULTILINE)
    assert "core: 250,000 events/s on one core" in text
    assert "(state decode + encode only): 0.5 us/event = 2,000,000 events/s; core/baseline = 8.0" in text
    assert "state bytes per contact: median 20, p90 30, max 30" in text


def test_the_compiled_tree_builds_the_core_but_not_what_mypyc_refuses() -> None:
    modules = set(modules_to_compile(REPO))
    assert {"engine/step.py", "engine/conditions/lexer.py", "ml/scoring.py", "tables/codec.py"} <= modules
    refused = {"engine/templates.py", "engine/parser.py", "engine/exceptions.py", "ml/exceptions.py"}
    assert not refused & modules
    assert not [name for name in modules if name.startswith(("agents/", "tests/"))]


def test_the_compiled_tree_is_never_built_over_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="exists"):
        copy_tree(REPO, tmp_path)


def test_the_compiled_tree_holds_the_tracked_files_and_the_built_ui(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "engine").mkdir(parents=True)
    (repo / "engine" / "step.py").write_text("x = 1\n")
    (repo / "scratch.txt").write_text("not tracked\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "engine/step.py"], check=True)
    (repo / "ui" / "dist" / "assets").mkdir(parents=True)
    (repo / "ui" / "dist" / "index.html").write_text("<html></html>\n")
    (repo / "ui" / "dist" / "assets" / "app.js").write_text("1;\n")
    out = tmp_path / "out"
    copy_tree(repo, out)
    copied = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert copied == ["engine/step.py", "ui/dist/assets/app.js", "ui/dist/index.html"]
    assert differing_files(repo, out) == []


def test_a_copy_names_the_tracked_files_it_no_longer_matches(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "engine").mkdir(parents=True)
    for name in ("step.py", "ids.py", "gone.py"):
        (repo / "engine" / name).write_text(f"# {name}\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "engine"], check=True)
    out = tmp_path / "out"
    copy_tree(repo, out)
    (repo / "engine" / "step.py").write_text("# edited after the copy\n")
    (out / "engine" / "gone.py").unlink()
    (repo / "untracked.py").write_text("not compared\n")
    assert differing_files(repo, out) == ["engine/gone.py", "engine/step.py"]
