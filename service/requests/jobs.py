"""Worker jobs of the requests: keep the stored public titles on the scrubbing rules of the running code.

``public_title`` (what the map, the OGC collections, the tiles and the request lists show other organisations) is
scrubbed when the title is set, with the rules of that moment. When a release changes the rules
(``service.feeds.common.SCRUB_REVISION``), :func:`follow_scrub_rules` scrubs the older ones again, at the worker's
start and every ``CHECK_EVERY_S`` after (a database restored from an older backup, an attempt that failed).
``baustellen db upgrade`` does the same after the migrations (:func:`refresh_public_titles`). When every title is
current it is one read that finds nothing, and logs nothing.

:func:`purge_idempotency_keys` deletes the stored answers to ``Idempotency-Key`` calls once they are older than
``BAUSTELLEN_IDEMPOTENCY_KEEP_HOURS`` (at the worker's start and every ``PURGE_EVERY_S``), so the table holds about
one period's keys, not every key ever sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.kit.db import session_scope
from service.requests import service

log = logging.getLogger("baustellen.requests")

CHECK_EVERY_S = 3600
PURGE_EVERY_S = 3600


def refresh_public_titles(
    factory: sessionmaker[Session], batch: int = service.PUBLIC_TITLE_BATCH
) -> service.TitleRefresh:
    """Scrub again every stored public title made with older rules, one transaction per ``batch`` requests; the
    totals (``last_id`` of the last batch)."""
    total = service.TitleRefresh()
    while True:
        with session_scope(factory) as session:
            step = service.refresh_public_titles(session, limit=batch, after=total.last_id)
        total.refreshed += step.refreshed
        total.changed += step.changed
        total.last_id = step.last_id
        if step.done:
            return total


def follow_scrub_rules(context: Any) -> int:
    """The worker's check; how many public titles it scrubbed again."""
    from service.feeds.common import SCRUB_REVISION

    total = refresh_public_titles(context.sessionmaker)
    if total.refreshed:
        log.info("requests: %d public title(s) scrubbed again with rules revision %d, %d of them read differently now",
                 total.refreshed, SCRUB_REVISION, total.changed)
    return total.refreshed


def purge_idempotency_keys(context: Any, batch: int = service.IDEMPOTENCY_PURGE_BATCH) -> int:
    """The worker's purge of expired ``Idempotency-Key`` answers, one transaction per ``batch``; how many."""
    purged = 0
    while True:
        with session_scope(context.sessionmaker) as session:
            step = service.purge_idempotency_keys(session, context.settings, limit=batch)
        purged += step
        if step < batch or context.stop.is_set():  # the rest waits for the next run
            break
    if purged:
        log.info("requests: %d Idempotency-Key answer(s) older than %d h deleted", purged,
                 context.settings.idempotency_keep_hours)
    return purged


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(follow_scrub_rules, "interval", args=[context], seconds=CHECK_EVERY_S,
                      id="requests.follow_scrub_rules", next_run_time=datetime.now(UTC), max_instances=1,
                      coalesce=True)
    scheduler.add_job(purge_idempotency_keys, "interval", args=[context], seconds=PURGE_EVERY_S,
                      id="requests.purge_idempotency_keys", next_run_time=datetime.now(UTC), max_instances=1,
                      coalesce=True)
