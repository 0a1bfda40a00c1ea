"""`switchyard loadtest`: synthetic traffic through a real worker, measured and checked by the oracle.

    switchyard loadtest --rate 1000 --seconds 60             # open loop at a fixed rate
    switchyard loadtest --max --events 100000                # preload, then drain; next to (a)
    switchyard loadtest --rate 1000 --events 100000 --kills 5   # chaos: kill -9 and restart 5 times
    switchyard loadtest --rate 200 --seconds 10 --analytics     # also check ClickHouse's counts

Broker: SWITCHYARD_KAFKA when set, else the project's broker on 127.0.0.1:--broker-port (started when not
running; stopped at the end when this command started it, unless --keep-broker). Every run has its own
app id and topic prefix (``lt-...``); its topics are deleted at the end unless --keep-topics. Reports go to
``reports/<stem>.json`` and ``.png``; worker and producer logs to ``<data dir>/loadtest/<run>/``.
With --analytics the analytics writer runs too (its store: ``<run dir>/analytics``, kept) and its funnel,
step, action and table counts must equal the oracle's.
Exit code 0 when the oracle found nothing missing, unexpected or conflicting, no step failure, malformed
event, dead letter, missed or early wake-up, and the lag drained to 0 (and, with --analytics, every count
equal).
Wire-up: ``register(subparsers)``; ``python -m switchyard.commands.loadtest`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agents.settings import MAX_PORT, Settings, SettingsError
from broker import KafkaBroker
from broker.factory import broker_at

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BROKER_PORT = 19992


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "loadtest", help="load test: rate or max throughput, latency, oracle, chaos"
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second (open loop)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send (open loop)")
    parser.add_argument("--events", type=int, default=0, help="how many events (overrides --seconds)")
    parser.add_argument("--max", action="store_true", help="max-throughput: preload, then drain")
    parser.add_argument("--kills", type=int, default=0, help="chaos: kill -9 the worker N times")
    parser.add_argument("--contacts", type=int, default=0, help="distinct contacts (default: events / 20)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=0, help="default: SWITCHYARD_PARTITIONS")
    parser.add_argument("--batch-size", type=int, default=0, help="worker batch size (default: settings)")
    parser.add_argument("--batch-within", type=float, default=None,
                        help="worker's extra wait (s) to fill a batch (default: settings)")  # fmt: skip
    parser.add_argument("--report-dir", type=Path, default=REPO / "reports")
    parser.add_argument("--name", default="", help="report file stem (default: loadtest-<mode>-<rate>)")
    parser.add_argument("--broker-port", type=broker_port, default=DEFAULT_BROKER_PORT,
                        help="the load-test broker's port; its controller takes the next one")  # fmt: skip
    parser.add_argument("--broker-dir", type=Path, default=None, help="default: <data dir>/loadtest-kafka")
    parser.add_argument("--keep-broker", action="store_true", help="leave a broker this command started")
    parser.add_argument("--keep-topics", action="store_true", help="leave the run's topics for inspection")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--analytics", action="store_true",
        help="also run the analytics writer; its ClickHouse counts must equal the oracle's",
    )  # fmt: skip
    parser.add_argument("--duplicates", type=float, default=0.0,
                        help="share of events (0-1) the producer sends twice with the same id, as a retrying "
                             "producer does; the oracle counts each once")  # fmt: skip
    parser.add_argument("--broker-warmup", type=float, default=5.0, metavar="SECONDS",
                        help="traffic to scratch topics before the run when this command started the "
                             "broker, whose fresh JVM answers slowly at first (loadtest/broker_warmup.py); "
                             "0: none")  # fmt: skip
    parser.add_argument("--worker-tree", type=Path, default=REPO, metavar="DIR",
                        help="the checkout the worker runs from, e.g. .native (`make native`: the compiled "
                             "core); the report and the summary name the core it ran")  # fmt: skip
    parser.set_defaults(run=run_loadtest)


def broker_port(text: str) -> int:
    """--broker-port: a port whose next one (the broker's controller, see start_broker) is a port too."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= port <= MAX_PORT - 1:
        raise argparse.ArgumentTypeError(
            f"{port} is not a port from 1 to {MAX_PORT - 1} (the broker's controller takes the next one)"
        )
    return port


def start_broker(settings: Settings, args: argparse.Namespace) -> tuple[str, KafkaBroker | None]:
    """The broker to use, and the one this command started (None: external or already running)."""
    if settings.external_kafka:
        return settings.external_kafka, None
    work_dir = args.broker_dir or settings.data_dir / "loadtest-kafka"
    port = args.broker_port
    broker = broker_at(settings, work_dir, port, port + 1)
    already = broker.status().running
    if not already and args.broker_dir is None:
        # The load-test broker's own directory holds nothing but earlier runs' leftovers: topics deleted
        # just before that broker stopped are removed by the broker after its next start, mid-run.
        broker.clear_data()
    print(broker.start().detail + (" (reused)" if already else f"; JIT {broker.jit}"), flush=True)
    return broker.bootstrap, (None if already else broker)


def default_stem(args: argparse.Namespace) -> str:
    if args.max:
        return "loadtest-max"
    stem = f"loadtest-{args.rate:g}eps"
    return stem + (f"-chaos{args.kills}" if args.kills else "")


def run_loadtest(args: argparse.Namespace, settings: Settings) -> int:
    from loadtest.broker_warmup import warm_broker
    from loadtest.compiled_tree import differing_files
    from loadtest.run import RunConfig, RunError, execute

    if not 0.0 <= args.duplicates <= 1.0 or (args.duplicates and args.analytics):
        print(
            "switchyard loadtest: --duplicates is a share from 0 to 1 and does not combine with "
            "--analytics (the writer's step records include the ignored duplicates)",
            file=sys.stderr,
        )
        return 2
    if args.rate <= 0 or min(args.kills, args.broker_warmup) < 0 or (args.events <= 0 and args.seconds <= 0):
        print("switchyard loadtest: --rate must be positive, --kills and --broker-warmup >= 0, and --events "
              "or --seconds > 0",
              file=sys.stderr)  # fmt: skip
        return 2
    worker_tree = args.worker_tree.resolve()
    if not (worker_tree / "switchyard" / "__main__.py").is_file():
        print(f"switchyard loadtest: --worker-tree {args.worker_tree} is not a Switchyard checkout "
              "(no switchyard/__main__.py in it)", file=sys.stderr)  # fmt: skip
        return 2
    stale = differing_files(REPO, worker_tree) if worker_tree != REPO else []
    if stale:
        listed = ", ".join(stale[:3]) + (", ..." if len(stale) > 3 else "")
        print(f"note: the worker runs from {worker_tree}, whose copies of {len(stale)} tracked file(s) of "
              f"this checkout differ or are missing ({listed}); rebuild it (make native) to measure this "
              "checkout", flush=True)  # fmt: skip
    tag = f"lt-{datetime.now(UTC):%Y%m%d%H%M%S}-{os.getpid()}"
    bootstrap, started = start_broker(settings, args)
    broker_to_stop = None if args.keep_broker else started
    run_dir = settings.data_dir / "loadtest" / tag
    worker = settings.with_(
        external_kafka=bootstrap, app_id=tag, topic_prefix=f"{tag}.", data_dir=run_dir / "data",
        partitions=args.partitions or settings.partitions, web_port=0,
        batch_size=args.batch_size or settings.batch_size,
        batch_within_s=settings.batch_within_s if args.batch_within is None else args.batch_within,
    )  # fmt: skip
    cfg = RunConfig(
        settings=worker, mode="max" if args.max else "open", rate=args.rate, seconds=args.seconds,
        events=args.events, contacts=args.contacts, seed=args.seed, kills=args.kills,
        report_dir=args.report_dir, stem=args.name or default_stem(args), log_dir=run_dir,
        keep_topics=args.keep_topics, show_progress=not args.no_progress, analytics=args.analytics,
        duplicates=args.duplicates, worker_tree=worker_tree, worker_tree_differs=tuple(stale),
        broker_jit=started.jit if started is not None else None,
    )  # fmt: skip
    print(f"run {tag}: load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus", flush=True)
    try:
        if started is not None and args.broker_warmup > 0:
            print(asyncio.run(warm_broker(bootstrap, args.broker_warmup)).describe(), flush=True)
        result = asyncio.run(execute(cfg))
    except RunError as exc:
        print(f"switchyard loadtest: {exc}", file=sys.stderr)
        return 1
    finally:
        if broker_to_stop is not None:
            broker_to_stop.stop()
            print("load-test broker stopped", flush=True)
    print()
    print(result.table)
    print(f"report: {result.json_path}  plot: {result.png_path}  logs: {run_dir}")
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="switchyard")
    register(parser.add_subparsers())
    args = parser.parse_args(["loadtest", *(argv if argv is not None else sys.argv[1:])])
    try:
        result = int(args.run(args, Settings.from_env()))
    except SettingsError as exc:
        print(f"switchyard loadtest: {exc}", file=sys.stderr)
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())
