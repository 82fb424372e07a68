"""The background worker: its own process (``baustellen worker``), never inside the API workers.

Each domain that has background work offers ``jobs.register(scheduler, context)`` and adds its jobs to
one APScheduler 3 ``BlockingScheduler``.
"""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from service.domains import modules
from service.kit.db import make_engine, make_sessionmaker
from service.settings import Settings

log = logging.getLogger("baustellen.worker")


@dataclass
class WorkerContext:
    settings: Settings
    sessionmaker: sessionmaker[Session]


def build_scheduler(settings: Settings) -> tuple[BlockingScheduler, WorkerContext]:
    context = WorkerContext(settings=settings, sessionmaker=make_sessionmaker(make_engine(settings), settings))
    scheduler = BlockingScheduler(timezone=settings.timezone)
    for module in modules("jobs"):
        module.register(scheduler, context)
    return scheduler, context


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # APScheduler logs two INFO lines per job run (eight jobs, most every few seconds); the jobs log what they
    # did themselves, and APScheduler's warnings (missed runs) and errors still come through
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler, _ = build_scheduler(settings)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("worker started with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
