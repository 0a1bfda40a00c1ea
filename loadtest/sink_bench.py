"""Benchmark of the webhook and email sinks against loopback peers, each next to a baseline in the same run.

    .venv/bin/python -m loadtest.sink_bench [--webhooks 3000] [--emails 1500]

- `switchyard sinks --channel webhook --channel email` runs as a child process (as in production);
  actions are produced to Kafka as fast as possible once it is ready; a loopback aiohttp receiver (which
  checks every signature) and an aiosmtpd server record when each action arrives.
- deliveries/s = actions / (last arrival - first produce); latency = arrival - produce time of each
  action, so it includes queueing when actions are produced faster than they are delivered.
- baselines: raw aiohttp POSTs of the same bodies to the same receiver (64 in flight), and raw aiosmtplib
  sends of the same messages over as many reused connections as the sink has.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from agents.worker_process import REPO
from loadtest.kafka_bench import bench_broker
from loadtest.percentiles import percentile
from sinks.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

SECRET = "bench-secret"
SMTP_CONNECTIONS = 4
IN_FLIGHT = 64


@dataclass
class Arrivals:
    """Arrival time (monotonic s) per id, and how many arrived twice."""

    at: dict[str, float] = field(default_factory=dict)
    repeats: int = 0
    bad: int = 0

    def arrived(self, key: str) -> None:
        if key in self.at:
            self.repeats += 1
        else:
            self.at[key] = time.monotonic()


class Receiver:
    def __init__(self) -> None:
        self.arrivals = Arrivals()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = request.headers
        if headers.get(SIGNATURE_HEADER) and not verify(SECRET, body, headers):
            self.arrivals.bad += 1
            return web.Response(status=401)
        self.arrivals.arrived(headers.get(IDEMPOTENCY_HEADER, ""))
        return web.json_response({"ok": True})


class Mailbox:
    def __init__(self) -> None:
        self.arrivals = Arrivals()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(envelope.original_content or b"")
        self.arrivals.arrived(str(message.get("X-Switchyard-Action-Id", "")))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def summary(
    name: str, count: int, started: float, sent_at: dict[str, float], arrivals: Arrivals
) -> dict[str, Any]:
    latencies = sorted((arrivals.at[k] - sent_at[k]) * 1000 for k in sent_at if k in arrivals.at)
    elapsed = max(arrivals.at.values(), default=started) - started
    return {
        "run": name,
        "delivered": len(latencies),
        "of": count,
        "per_s": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 50) if latencies else float("nan"),
        "p99_ms": percentile(latencies, 99) if latencies else float("nan"),
        "repeats": arrivals.repeats,
    }


def action(channel: str, n: int, run: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_id": f"{run}-{channel}-{n}",
        "channel": channel,
        "type": "webhook" if channel == "webhook" else "send_email",
        "contact_id": f"c-{n % 500}",
        "workflow_id": "bench",
        "version": 1,
        "run_id": f"r-{n}",
        "node_id": "act",
        "ts": int(time.time() * 1000),
        "params": params,
    }


async def produce(
    bootstrap: str, topic: str, actions: list[dict[str, Any]], sent_at: dict[str, float]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        for item in actions:
            sent_at[item["action_id"]] = time.monotonic()
            await producer.send(topic, orjson.dumps(item), key=item["contact_id"].encode())
        await producer.flush()
    finally:
        await producer.stop()


async def wait_all(arrivals: Arrivals, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(arrivals.at) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def baseline_http(url: str, count: int) -> dict[str, Any]:
    receiver_arrivals = Arrivals()
    sent_at: dict[str, float] = {}
    limit = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession() as session:

        async def post(n: int) -> None:
            key = f"raw-{n}"
            body = orjson.dumps({"id": key, "data": {"n": n}})
            async with limit:
                sent_at[key] = time.monotonic()
                async with session.post(url, data=body, headers={IDEMPOTENCY_HEADER: key}) as response:
                    await response.read()
                receiver_arrivals.at[key] = time.monotonic()

        started = time.monotonic()
        await asyncio.gather(*(post(n) for n in range(count)))
    return summary("baseline: raw aiohttp POST", count, started, sent_at, receiver_arrivals)


async def baseline_smtp(port: int, count: int) -> dict[str, Any]:
    arrivals = Arrivals()
    sent_at: dict[str, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        while not queue.empty():
            n = queue.get_nowait()
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = (
                "bench@example.com",
                f"u{n}@example.com",
                "Hi",
            )
            message.set_content(f"Hello {n}\n")
            message.add_alternative(f"<p>Hello {n}</p>", subtype="html")
            key = f"raw-{n}"
            sent_at[key] = time.monotonic()
            await client.send_message(message)
            arrivals.at[key] = time.monotonic()
        await client.quit()

    started = time.monotonic()
    await asyncio.gather(*(connection() for _ in range(SMTP_CONNECTIONS)))
    return summary("baseline: raw aiosmtplib send", count, started, sent_at, arrivals)


async def bench(bootstrap: str, webhooks: int, emails: int, work: Path) -> list[dict[str, Any]]:
    receiver, mailbox = Receiver(), Mailbox()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    http_port, smtp_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", http_port).start()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    templates = work / "templates"
    templates.mkdir()
    (templates / "bench.txt").write_text("Hello {{ params.name }}\n")
    (templates / "bench.html").write_text("<p>Hello <b>{{ params.name }}</b></p>\n")
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "SWITCHYARD_KAFKA": bootstrap,
        "SWITCHYARD_APP_ID": f"bench-{run}",
        "SWITCHYARD_TOPIC_PREFIX": f"bench-{run}.",
        "SWITCHYARD_DATA": str(work / "data"),
        "SWITCHYARD_PARTITIONS": "4",
        "SWITCHYARD_WEBHOOK_SECRET": SECRET,
        "SWITCHYARD_WEBHOOK_ALLOW_PRIVATE": "true",
        "SWITCHYARD_SMTP_HOST": "127.0.0.1",
        "SWITCHYARD_SMTP_PORT": str(smtp_port),
        "SWITCHYARD_SMTP_FROM": "bench@example.com",
        "SWITCHYARD_SMTP_CONNECTIONS": str(SMTP_CONNECTIONS),
        "SWITCHYARD_TEMPLATES": str(templates),
        "SWITCHYARD_LOG_LEVEL": "warning",
    }
    log_path = work / "sinks.log"
    results = []
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "switchyard.commands.sinks", "--channel", "webhook", "--channel", "email"],
            cwd=REPO,
            env={**env, "SWITCHYARD_LOG_LEVEL": "info"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"switchyard sinks: ready" not in log_path.read_bytes():
            if child.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"sinks did not start:\n{log_path.read_text()[-2000:]}")
            await asyncio.sleep(0.1)
        prefix = f"bench-{run}."
        url = f"http://127.0.0.1:{http_port}/hook"
        sent: dict[str, float] = {}
        hooks = [action("webhook", n, run, {"url": url, "n": n}) for n in range(webhooks)]
        started = time.monotonic()
        await produce(bootstrap, prefix + "actions.webhook", hooks, sent)
        await wait_all(receiver.arrivals, webhooks, 120)
        results.append(summary("switchyard webhook sink", webhooks, started, sent, receiver.arrivals))
        results.append(await baseline_http(url, webhooks))
        sent = {}
        mails = [
            action(
                "email",
                n,
                run,
                {"to": f"u{n}@example.com", "template": "bench", "subject": "Hi", "name": f"N{n}"},
            )
            for n in range(emails)
        ]
        started = time.monotonic()
        await produce(bootstrap, prefix + "actions.email", mails, sent)
        await wait_all(mailbox.arrivals, emails, 120)
        results.append(summary("switchyard email sink", emails, started, sent, mailbox.arrivals))
        results.append(await baseline_smtp(smtp_port, emails))
    finally:
        child.terminate()
        child.wait(30)
        controller.stop()
        await runner.cleanup()
    if receiver.arrivals.bad:
        raise SystemExit(f"{receiver.arrivals.bad} webhook(s) failed signature verification")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhooks", type=int, default=3000)
    parser.add_argument("--emails", type=int, default=1500)
    parser.add_argument("--port", type=int, default=19392, help="port of a bench broker started if needed")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="sink-bench-") as tmp,
        bench_broker(Path(tmp) / "kafka", args.port, args.port + 1) as bootstrap,
    ):
        results = asyncio.run(bench(bootstrap, args.webhooks, args.emails, Path(tmp)))
    print(f"{'run':32} {'delivered':>10} {'per s':>9} {'p50 ms':>9} {'p99 ms':>9} {'repeats':>8}")
    for r in results:
        print(
            f"{r['run']:32} {r['delivered']:>5}/{r['of']:<4} {r['per_s']:>9.0f} {r['p50_ms']:>9.1f} "
            f"{r['p99_ms']:>9.1f} {r['repeats']:>8}"
        )


if __name__ == "__main__":
    main()
