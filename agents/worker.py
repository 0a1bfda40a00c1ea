"""Run a worker process: the Faust app with the processing agent, on uvloop when it is installed."""

from __future__ import annotations

import asyncio
import gc
import logging

from faust.worker import Worker as FaustWorker

from agents.app import build_worker
from agents.logs import logging_config
from agents.loop_watch import CollectionWatch
from agents.settings import Settings


def use_uvloop() -> bool:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency, but the worker runs without it
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def tune_garbage_collector() -> None:
    """Collect young objects less often and keep what start-up built out of every later collection.

    The processor allocates many short-lived dicts per event, and the default threshold (700) runs a
    young collection every few events; every tenth of those also walks the older generations, which
    hold Faust, aiokafka and the River models. Reference counting frees almost everything anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)
    CollectionWatch().install()


def run_worker(settings: Settings) -> None:
    """Block until the worker is stopped (SIGINT/SIGTERM)."""
    use_uvloop()
    asyncio.set_event_loop(asyncio.new_event_loop())
    worker = build_worker(settings)
    tune_garbage_collector()
    logging.getLogger("switchyard").info("worker %s on %s", settings.app_id, settings.bootstrap)
    FaustWorker(
        worker.app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, settings.log_format),
        quiet=True,
    ).execute_from_commandline()
