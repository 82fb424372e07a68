"""Worker job: solve queued plan runs, one at a time per worker process."""

from __future__ import annotations

import logging
from typing import Any

from service.slots import service

log = logging.getLogger("baustellen.slots")


def poll(context: Any) -> None:
    """Run queued plans until none is left (each claimed with ``FOR UPDATE SKIP LOCKED``). The worker's stop event
    (SIGTERM) ends a run at once and puts it back to ``queued`` (``service.run_plan``); no further one is claimed."""
    stop = getattr(context, "stop", None)
    while (plan_id := service.claim_and_run(context.sessionmaker, context.settings, stop)) is not None:
        if stop is not None and stop.is_set():
            break
        log.info("plan run %s finished", plan_id)


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(poll, "interval", args=[context], seconds=max(1.0, min(context.settings.worker_poll_seconds, 5)),
                      id="slots.plan_runs", max_instances=1, coalesce=True)
