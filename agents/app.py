"""Build a worker from Settings: the Faust app, its topics and tables, the processing agent, the timer
service, the `/metrics` page and the HTTP API (agents/api).

Every call builds a fresh app, so tests and benchmarks can run several apps with their own ids and topics.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any, cast

import faust

from agents import core_build
from agents.api import register_api
from agents.api.config import ApiConfig
from agents.api.exceptions import ApiConfigError
from agents.assignor import LocalStateAssignor
from agents.breaker import BreakerGuard
from agents.consumer import install as install_safe_consumer
from agents.definitions import DefinitionCache
from agents.feed import RecordFeed
from agents.gaps import HeldWatch
from agents.logs import CORE_BUILD, PROCESSING_READY
from agents.loop_watch import watch_loop
from agents.metrics import Metrics
from agents.outbox import Outbox
from agents.processor import EventProcessor, Landing, Outputs
from agents.produce_encoding import install as install_produce_encoding
from agents.scoring import Predictions
from agents.settings import HEARTBEAT_S, Settings
from agents.side_producer import SideProducer
from agents.timers import TimerService
from agents.topics import CONSENT, WORKFLOWS, Topics, declare_topics
from engine.events import Limits
from tables.contacts import ContactStore, define_contacts_table
from tables.direct import FLUSH_EVERY_S, DirectTable
from tables.manager import PromptTableManager
from tables.progress import ProgressStore, define_progress_table
from tables.rocksdb_files import shared_cache
from tables.timers import TimerStore, define_timers_table


@dataclass
class Worker:
    app: faust.App
    topics: Topics
    processor: EventProcessor
    timer_service: TimerService
    metrics: Metrics


def drop_first_records(batch: Any, count: int) -> list[Any]:
    """TEST ONLY: the batch without the first `count` records of each partition, as if the consumer had
    never delivered them (what faust-streaming's rebalance race does; agents/gaps.py must notice)."""
    seen: dict[Any, int] = {}
    kept = []
    for item in batch:
        tp = item.message.tp
        seen[tp] = seen.get(tp, 0) + 1
        if seen[tp] > count:
            kept.append(item)
    return kept


log = logging.getLogger("switchyard.worker")
OUTPUT_BATCH_BYTES = 512 * 1024  # below the producer's and the broker's 1 MB request and message limits


def build_app(settings: Settings, api: ApiConfig | None = None) -> faust.App:
    api = api or ApiConfig()
    datadir = settings.state_dir / settings.app_id
    datadir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
        store="rocksdb://",
        datadir=str(datadir),
        topic_partitions=settings.partitions,
        topic_allow_declare=True,
        table_standby_replicas=0,
        consumer_auto_offset_reset="earliest",
        producer_linger_ms=5,
        # the processor hands each topic partition's records to the producer as one batch (agents/outbox.py)
        producer_max_batch_size=OUTPUT_BATCH_BYTES,
        stream_buffer_maxsize=max(4096, settings.batch_size * 2),
        broker_commit_interval=1.0,
        # a killed worker's partitions move to the survivors within seconds, not the default minute
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=HEARTBEAT_S,
        web_enabled=settings.web_port > 0,
        web_port=max(settings.web_port, 1),
        web_bind=api.bind,
        web_host=api.bind,
        # Faust's own views would serve table contents (/table) and routing (/router) without our token.
        web_tables_enabled=False,
        web_router_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        topic_disable_leader=True,  # nothing here runs on the leader only; its topic was one more idle fetch
        loghandlers=[],
        autodiscover=False,
        TableManager=PromptTableManager,  # every table is declared before the app starts
        consumer_group_instance_id=settings.group_instance_id,
        PartitionAssignor=LocalStateAssignor,  # a restart on the same data dir keeps its partitions
    )
    refuse_overridden_web_settings(app, api.bind, max(settings.web_port, 1))
    install_safe_consumer(app)
    install_produce_encoding()  # process-wide: every producer of this worker
    return app


def refuse_overridden_web_settings(app: faust.App, bind: str, port: int) -> None:
    """Faust lets its own environment variables (WEB_BIND, WEB_HOST, WEB_PORT) override what it is given:
    the API would then listen where ApiConfig did not check (off loopback without a token, say)."""
    given = {"web_bind": bind, "web_host": bind, "web_port": port}
    overridden = {name: value for name, value in given.items() if getattr(app.conf, name) != value}
    if overridden:
        found = ", ".join(f"{name.upper()}={getattr(app.conf, name)!r}" for name in overridden)
        raise ApiConfigError(
            f"the environment sets {found}, which Faust would use instead of Switchyard's settings; "
            "unset it and use SWITCHYARD_WEB_BIND / SWITCHYARD_WEB_PORT"
        )


def build_worker(settings: Settings) -> Worker:
    api = ApiConfig.from_env(os.environ)  # refuses a non-loopback address without a token
    app = build_app(settings, api)
    topics = declare_topics(app, settings.topic_prefix, settings.partitions)
    metrics = Metrics()

    def kafka_producer() -> Any:  # the aiokafka producer under Faust's, once the app has started it
        return cast(Any, app.producer)._ensure_producer()

    # Step records are packed (one record per batch and partition); changelogs stay one record per key, on
    # a connection of their own so that they never hold up the next batch's effects (agents/side_producer.py).
    effects = Outbox(kafka_producer, packed={topics.analytics.get_topic_name()})
    changelog = Outbox(SideProducer(app).attach())
    cache = shared_cache(settings.state_cache_mb)  # one block cache for every partition file of the worker
    contacts = DirectTable(app, define_contacts_table(app, settings.partitions), changelog, cache)
    timers = TimerStore(DirectTable(app, define_timers_table(app, settings.partitions), changelog, cache))
    definitions = DefinitionCache(settings.bootstrap, settings.topic(WORKFLOWS))
    predictions = Predictions(settings.state_dir / settings.app_id / "ml") if settings.ml else None
    timer_service = TimerService(app, timers, topics.events.get_topic_name(), metrics)
    processor = EventProcessor(
        app=app,
        store=ContactStore(contacts),
        timer_store=timers,
        timer_service=timer_service,
        definitions=definitions,
        outputs=Outputs(
            events=topics.events.get_topic_name(),
            dlq=topics.dlq.get_topic_name(),
            analytics=topics.analytics.get_topic_name(),
            actions={channel: topic.get_topic_name() for channel, topic in topics.actions.items()},
            consent=settings.topic(CONSENT),
        ),
        limits=Limits(max_bytes=settings.max_event_bytes),
        metrics=metrics,
        effects=effects,
        changelog=changelog,
        progress=ProgressStore(
            DirectTable(app, define_progress_table(app, settings.partitions), changelog, cache)
        ),
        predictions=predictions,
        breaker=BreakerGuard(
            catalog_topic=settings.topic(WORKFLOWS),
            notify_topic=topics.actions["notify"].get_topic_name(),
            analytics_topic=topics.analytics.get_topic_name(),
        ),
    )

    # The events topic's records reach the agent as batches straight from the fetch loop (agents/feed.py);
    # the agent stays a Faust agent on the topic, for Faust's subscription, rebalancing and recovery.
    feed = RecordFeed(app, topics.events.get_topic_name(), settings.batch_size, settings.batch_within_s)
    install_safe_consumer(app, (feed,))

    async def process_events(stream: Any) -> None:
        await definitions.loaded.wait()  # no event may miss a trigger because definitions were still loading
        skip, batches = settings.test_skip_records, 0
        landings: list[Landing] = []  # written batches, their changelog records in flight

        async def finish(written: list[Landing]) -> None:
            for landing in written:
                await processor.land(landing)
                feed.ack(landing.taken)

        try:
            while True:
                if not len(feed):  # nothing to overlap with: finish the batches in flight
                    await finish([*landings, *await processor.drain()])
                    landings = []
                # Whatever has arrived, at once; batches grow under load while the previous one is processed.
                taken = batch = await feed.take()
                if not taken:
                    continue  # dropped by a rebalance: back to finishing what is in flight
                batches += 1
                if skip and batches == 2:  # fault injection for tests: records lost before the agent
                    batch = drop_first_records(taken, skip)
                # Computed while the previous batch's effects travel; that batch is then written and its
                # changelog records travel while the next batch is processed. A batch's offsets are
                # acknowledged only once its changelog records are in (it is processed again if not). A batch
                # whose processing is cancelled (shutdown, rebalance) is never acked: its offsets are not
                # committed and it is processed again.
                written = await processor.submit(batch, taken)
                await finish(landings)
                landings = written
        except BaseException:
            processor.abandon()
            raise

    app.agent(topics.events, name="process_events", concurrency=1)(process_events)
    app.task(timer_service.run)

    async def watch_event_loop() -> None:  # no parameter: Faust would pass the app to one
        await watch_loop()

    app.task(watch_event_loop)

    async def announce_ready() -> None:
        await definitions.loaded.wait()
        await cast(Any, app.tables).recovery.completed.wait()  # assigned, tables restored, fetcher running
        outputs = processor.outputs
        await effects.learn_partitions([*outputs.actions.values(), outputs.events, outputs.analytics])
        log.info("%s%s", CORE_BUILD, core_build.describe())
        log.info("%s %r", PROCESSING_READY, definitions.current())

    app.task(announce_ready)

    held = HeldWatch()

    async def check_stalls() -> None:
        held_by = " and ".join(name for name, on in (("a rebalance", app.rebalancing),
                                                      ("a recovery", app.in_recovery)) if on)  # fmt: skip
        held.observe(held_by, time.monotonic())
        if not held_by:
            await processor.unstall(timer_service.assigned_tps())

    app.timer(interval=5.0)(check_stalls)

    async def flush_tables() -> None:
        for table in processor.tables:
            table.flush_soon()

    app.timer(interval=FLUSH_EVERY_S)(flush_tables)
    app.task(definitions.run)
    if predictions is not None:

        async def checkpoint_models() -> None:
            await predictions.checkpoint()

        async def save_models(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
            predictions.save(final=True)

        async def announce_models() -> None:  # logging is configured by now, unlike at build time
            logging.getLogger("switchyard.scoring").info("predictive scoring on: %s", predictions.origin)

        app.task(announce_models)
        app.timer(interval=60.0)(checkpoint_models)
        app.on_before_shutdown.connect(save_models)

    # Behind the token unless SWITCHYARD_METRICS_PUBLIC=on (agents/api/http.py decides per request).
    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.text(metrics.render(), content_type="text/plain; version=0.0.4")

    register_api(app, settings, definitions, api)

    return Worker(app=app, topics=topics, processor=processor, timer_service=timer_service, metrics=metrics)
