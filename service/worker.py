"""The background worker: its own process (``baustellen worker``), never inside the API workers.

Each domain that has background work offers ``jobs.register(scheduler, context)`` and adds its jobs to
one APScheduler 3 ``BlockingScheduler``.

SIGTERM (``docker stop``, systemd) and Ctrl-C set ``WorkerContext.stop``. The plan runs, the one job that can run for
minutes, watch it: a run in progress stops its CP-SAT search, rolls back and is queued again at once, so the
process exits well before the SIGKILL that follows SIGTERM after about 10 s.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field

from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.orm import Session, sessionmaker

from service.domains import modules
from service.kit.db import make_engine, make_sessionmaker
from service.settings import Settings

log = logging.getLogger("baustellen.worker")
# every process's log line starts with its time (`baustellen serve` gives uvicorn the same: cli.uvicorn_log_config)
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


@dataclass
class WorkerContext:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    # set when the worker is asked to stop: jobs that run long check it and end early, leaving no half-done work
    stop: threading.Event = field(default_factory=threading.Event)


def build_scheduler(settings: Settings) -> tuple[BlockingScheduler, WorkerContext]:
    context = WorkerContext(settings=settings, sessionmaker=make_sessionmaker(make_engine(settings), settings))
    scheduler = BlockingScheduler(timezone=settings.timezone)
    for module in modules("jobs"):
        module.register(scheduler, context)
    return scheduler, context


def run(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # APScheduler logs two INFO lines per job run (eight jobs, most every few seconds); the jobs log what they
    # did themselves, and APScheduler's warnings (missed runs) and errors still come through
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler, context = build_scheduler(settings)

    def terminate(*_: object) -> None:
        log.info("SIGTERM: stopping (running jobs are told to stop)")
        context.stop.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, terminate)
    log.info("worker started with %d jobs", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        # the job threads are joined when the interpreter exits: have the running ones end now (Ctrl-C too)
        context.stop.set()
