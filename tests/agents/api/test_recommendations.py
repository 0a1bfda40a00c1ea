"""Workflow recommendations through the API, against a real worker and a real analytics writer process:
none without enough data, shown once there is, previewed (nothing stored or recorded), applied as a
validating draft with its diff, dismissed with a reason, and every outcome counted by
`switchyard report recommendations`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.topic_reader import read_to_end
from engine.topics import ANALYTICS, EVENTS, RECOMMENDATIONS, action_topic
from tests.agents.api.fixtures import (
    ApiWorker,
    example_definition,
    worker_with_analytics,
)
from tests.sinks.analytics.fixtures import WriterProcess, produce_json, wait_until

pytestmark = pytest.mark.kafka
TOKEN = "recs-token"
REPO = Path(__file__).resolve().parents[3]
WORKFLOW = "abandoned_cart"


@pytest.fixture(scope="module")
def with_analytics(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ApiWorker, WriterProcess]]:
    yield from worker_with_analytics(kafka_bootstrap, tmp_path_factory.mktemp("api-recs"), TOKEN)


def sends(
    first: int, count: int, now: int, workflow: str = WORKFLOW
) -> list[tuple[str, str, dict[str, Any]]]:
    """Action records of the reminder (the send right after the fixed 2h wait), as the worker writes them."""
    return [
        (action_topic("email"), f"c{i}", {
            "action_id": f"act-{i}", "channel": "email", "type": "send_email", "contact_id": f"c{i}",
            "workflow_id": workflow, "version": 1, "run_id": f"run-{i}", "node_id": "reminder",
            "ts": now - 3_600_000, "params": {"template": "cart_reminder"},
        })
        for i in range(first, first + count)
    ]  # fmt: skip


def entered(
    count: int, now: int, workflow: str = WORKFLOW, first: int = 0
) -> list[tuple[str, str, dict[str, Any]]]:
    """Step records of runs that entered and never reached the goal."""
    return [
        (ANALYTICS, f"c{i}", {
            "ts": now - 7_200_000, "contact_id": f"c{i}", "workflow_id": workflow, "version": 1,
            "run_id": f"run-{i}", "node_id": "", "transition": "entered", "source": f"seed:{i}", "seq": 0,
        })
        for i in range(first, first + count)
    ]  # fmt: skip


def report(worker: ApiWorker, writer: WriterProcess, name: str) -> dict[str, Any]:
    """`switchyard report NAME --json`, as an operator runs it, against the running writer's endpoint."""
    env = {**os.environ, **worker.settings.to_env(), "SWITCHYARD_ANALYTICS_PORT": str(writer.port),
           "SWITCHYARD_ANALYTICS_DSN": writer.dsn, "SWITCHYARD_API_TOKEN": TOKEN,
           "PYTHONPATH": str(REPO)}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "switchyard.commands.report", name, "--since", "all", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def endpoint_report(writer: WriterProcess, name: str) -> dict[str, Any]:
    """The writer's report endpoint (what the worker's API asks), for the polling loops."""
    request = urllib.request.Request(f"http://127.0.0.1:{writer.port}/reports/{name}?since_ms=0")
    request.add_header("Authorization", f"Bearer {TOKEN}")
    with urllib.request.urlopen(request, timeout=60) as response:
        answer: dict[str, Any] = json.loads(response.read())
    return answer


def test_recommendations_are_shown_applied_dismissed_and_counted(
    with_analytics: tuple[ApiWorker, WriterProcess],
) -> None:
    worker, writer = with_analytics
    client, settings = worker.client, worker.settings
    assert client.call("POST", "/v1/workflows", example_definition(WORKFLOW))[0] == 201
    assert client.call("POST", f"/v1/workflows/{WORKFLOW}/publish", {"note": "seed"})[0] == 200
    path = f"/v1/workflows/{WORKFLOW}/recommendations"
    status, listed = client.call("GET", path)
    assert status == 200 and listed["recommendations"] == [] and listed["version"] == 1

    now = int(time.time() * 1000)
    topic = settings.topic
    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in sends(0, 99, now)]))
    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in entered(99, now)]))

    def seeded(sent: int, runs: int) -> bool:
        rows = endpoint_report(writer, "sends")["rows"]
        funnel = endpoint_report(writer, "funnel")["rows"]
        return any(r[2] == "reminder" and r[4] == sent for r in rows) and any(
            r[2] == "entered" and r[5] == runs for r in funnel
        )

    wait_until(lambda: seeded(99, 99), 90, writer.log_tail)
    status, listed = client.call("GET", path)  # 99 sends and 99 runs: below MIN_SAMPLE, nothing to say
    assert status == 200 and listed["recommendations"] == []

    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in sends(99, 1, now)]))
    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in entered(100, now)[99:]]))
    wait_until(lambda: seeded(100, 100), 90, writer.log_tail)
    status, listed = client.call("GET", path)
    assert status == 200
    recs = {r["kind"]: r for r in listed["recommendations"]}
    assert set(recs) == {"fixed_wait_before_send", "goal_never_reached"}, listed
    wait_rec, goal_rec = recs["fixed_wait_before_send"], recs["goal_never_reached"]
    assert wait_rec["node"] == "wait_2h" and wait_rec["evidence"]["sent"] == 100
    assert wait_rec["change"] == [
        {"op": "remove", "path": "/nodes/wait_2h/duration"},
        {"op": "add", "path": "/nodes/wait_2h/until", "value": "best_send_time"},
    ]
    assert (
        goal_rec["node"] == "purchased"
        and goal_rec["change"] == []
        and goal_rec["evidence"]["entered"] == 100
    )
    assert client.call("GET", path)[1]["recommendations"] == listed["recommendations"]  # stable ids

    status, previewed = client.call("GET", f"{path}/{wait_rec['id']}/preview")  # a dry run: nothing stored
    assert status == 200 and previewed["draft_version"] == 2 and previewed["validation"]["valid"] is True
    assert client.call("GET", f"/v1/workflows/{WORKFLOW}")[1]["draft_version"] is None
    assert client.call("GET", f"{path}/{goal_rec['id']}/preview")[1]["error"] == "nothing_to_apply"
    assert client.call("GET", f"{path}/rec_unknown/preview")[0] == 404

    status, applied = client.call("POST", f"{path}/{wait_rec['id']}/apply")
    assert status == 201, applied
    assert applied["draft_version"] == 2 and applied["validation"]["valid"] is True
    assert applied["definition"]["status"] == "draft"
    assert applied["definition"]["nodes"]["wait_2h"] == {
        "type": "wait",
        "until": "best_send_time",
        "next": "reminder",
    }
    assert applied["diff"] == [
        {"path": "/nodes/wait_2h/duration", "before": "2h", "after": None},
        {"path": "/nodes/wait_2h/until", "before": None, "after": "best_send_time"},
    ]
    status, checked = client.call("POST", f"/v1/workflows/{WORKFLOW}/validate")  # the stored draft
    assert status == 200 and checked["valid"] is True
    assert {k: applied[k] for k in ("definition", "diff", "validation")} == {
        k: previewed[k] for k in ("definition", "diff", "validation")
    }  # the preview showed what the apply stored
    status, refused = client.call("GET", f"{path}/{wait_rec['id']}/preview")
    assert (status, refused["error"]) == (409, "draft_exists")
    status, refused = client.call("POST", f"{path}/{goal_rec['id']}/apply")
    assert (status, refused["error"]) == (409, "nothing_to_apply")
    assert client.call("POST", f"{path}/rec_unknown/dismiss", {})[0] == 404

    status, dismissed = client.call(
        "POST", f"{path}/{goal_rec['id']}/dismiss", {"reason": "goal sent by CRM"}
    )
    assert status == 200 and dismissed == {
        "dismissed": goal_rec["id"], "reason": "goal sent by CRM", "recommendation": goal_rec,
    }  # fmt: skip
    assert client.call("POST", f"{path}/{goal_rec['id']}/dismiss", {"reason": 5})[0] == 400

    records = asyncio.run(read_to_end(settings.bootstrap, topic(RECOMMENDATIONS)))
    outcomes = [orjson.loads(record.value) for record in records if record.value is not None]
    assert {(o["kind"], o["what"]) for o in outcomes} == {
        ("fixed_wait_before_send", "shown"), ("goal_never_reached", "shown"),
        ("fixed_wait_before_send", "applied"), ("goal_never_reached", "dismissed"),
    }  # fmt: skip
    applies = [o["kind"] for o in outcomes if o["what"] == "applied"]
    assert applies == ["fixed_wait_before_send"]  # once: the previews recorded nothing
    assert [o["reason"] for o in outcomes if o["what"] == "dismissed"] == ["goal sent by CRM"]

    counted: dict[str, Any] = {}

    def all_counted() -> bool:
        answer = endpoint_report(writer, "recommendations")
        counted.update({row[0]: dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]})
        return (
            len(counted) == 2
            and counted["goal_never_reached"]["dismissed"] == 1
            and (counted["fixed_wait_before_send"]["applied"] == 1)
        )

    wait_until(all_counted, 90, lambda: f"{counted}\n{writer.log_tail()}")
    cli = report(worker, writer, "recommendations")  # `switchyard report recommendations --json`
    assert {row[0]: dict(zip(cli["columns"], row, strict=True)) for row in cli["rows"]} == counted
    assert counted["fixed_wait_before_send"] == {
        "kind": "fixed_wait_before_send", "shown": 1, "applied": 1, "dismissed": 0, "acceptance_rate": 1.0,
        "applied_per_shown": 1.0,
    }  # fmt: skip
    assert counted["goal_never_reached"] == {
        "kind": "goal_never_reached", "shown": 1, "applied": 0, "dismissed": 1, "acceptance_rate": 0.0,
        "applied_per_shown": 0.0,
    }  # fmt: skip
    # the dismissal is read back: the next listing (another session, another browser) leaves it out
    status, later = client.call("GET", path)
    assert status == 200 and [r["id"] for r in later["recommendations"]] == [wait_rec["id"]]


def channel_seed(channel: str, workflow: str, node: str, first: int, count: int, clicks: int,
                 now: int) -> list[tuple[str, str, dict[str, Any]]]:  # fmt: skip
    """Sends of `node` on `channel` to contacts of segment `na` (a contact.updated names it), and a
    `<channel>.clicked` outcome naming the action for the first `clicks` of them."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for i in range(first, first + count):
        contact, action = f"na{i}", f"{workflow}-{channel}-{i}"
        out.append((EVENTS, contact, {"event_id": f"seg-{contact}", "contact_id": contact,
                                      "type": "contact.updated", "ts": now - 9_000_000,
                                      "properties": {"segment": "na"}}))  # fmt: skip
        out.append((action_topic(channel), contact, {
            "action_id": action, "channel": channel, "type": f"send_{channel}", "contact_id": contact,
            "workflow_id": workflow, "version": 1, "run_id": f"run-{action}", "node_id": node,
            "ts": now - 3_600_000, "params": {},
        }))  # fmt: skip
        if i - first < clicks:
            out.append((EVENTS, contact, {"event_id": f"click-{action}", "contact_id": contact,
                                          "type": f"{channel}.clicked", "ts": now - 1_800_000,
                                          "properties": {"action_id": action}}))  # fmt: skip
    return out


def test_bandit_channel_is_proposed_once_the_evidence_suffices(
    with_analytics: tuple[ApiWorker, WriterProcess],
) -> None:
    worker, writer = with_analytics
    client, settings = worker.client, worker.settings
    workflow = "post_purchase"
    assert client.call("POST", "/v1/workflows", example_definition(workflow))[0] == 201
    assert client.call("POST", f"/v1/workflows/{workflow}/publish", {"note": "seed"})[0] == 200
    path = f"/v1/workflows/{workflow}/recommendations"
    now = int(time.time() * 1000)
    topic = settings.topic
    own = channel_seed("email", workflow, "thank_you", 0, 150, 5, now)  # the fixed email: 5 clicks in 150
    promo = channel_seed("sms", "promo", "offer", 1000, 99, 40, now)  # another workflow's sms: 40 in 99
    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in [*own, *promo]]))

    def counted(sms_sent: int) -> bool:
        answer = endpoint_report(writer, "channels")
        rows = [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]
        sms = any(r["channel"] == "sms" and r["segment"] == "na" and r["sent"] == sms_sent for r in rows)
        own = any(r["node"] == "thank_you" and r["segment"] == "na" and r["clicked"] == 5 for r in rows)
        return sms and own

    wait_until(lambda: counted(99), 90, writer.log_tail)
    status, listed = client.call("GET", path)  # 99 sms sends: too little evidence for sms
    assert status == 200 and [r for r in listed["recommendations"] if r["kind"] == "bandit_channel"] == []

    more = channel_seed("sms", "promo", "offer", 1099, 1, 1, now)
    asyncio.run(produce_json(settings.bootstrap, [(topic(t), k, d) for t, k, d in more]))
    wait_until(lambda: counted(100), 90, writer.log_tail)
    status, listed = client.call("GET", path)
    (rec,) = [r for r in listed["recommendations"] if r["kind"] == "bandit_channel"]
    segment = rec["evidence"]["segments"]["na"]
    assert rec["node"] == "thank_you" and rec["evidence"]["proposed"] == ["sms"] and segment["z"] >= 2
    assert segment["channels"]["sms"] == {"sent": 100, "opened": 41, "clicked": 41, "converted": 0,
                                          "reward_rate": 0.287}  # fmt: skip
    assert rec["change"][0] == {"op": "replace", "path": "/nodes/thank_you/action", "value": "send_best"}
    status, applied = client.call("POST", f"{path}/{rec['id']}/apply")
    assert status == 201 and applied["validation"]["valid"] is True, applied
    assert set(applied["definition"]["nodes"]["thank_you"]["params"]["messages"]) == {"email", "sms"}
