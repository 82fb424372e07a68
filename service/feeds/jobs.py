"""Worker jobs of the feeds: keep ``feed_publications`` current and push DATEX II on change."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from service.feeds import service
from service.kit.db import session_scope

log = logging.getLogger("baustellen.feeds")

PUSH_TIMEOUT_S = 30.0


def run_once(context: Any, client: httpx.Client | None = None) -> str:
    """One worker round: sync the publications, then push DATEX II if a receiver is configured."""
    settings = context.settings
    with session_scope(context.sessionmaker) as session:
        changed = service.sync(session, settings)
    if changed:
        log.info("feeds: %d publication(s) changed", changed)
    if not settings.datex_push_url:
        return "disabled"
    own = client is None
    client = client or httpx.Client(timeout=PUSH_TIMEOUT_S)
    try:
        with session_scope(context.sessionmaker) as session:
            return service.push_datex(session, settings, client=client)
    finally:
        if own:
            client.close()


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(run_once, "interval", args=[context], seconds=max(5.0, context.settings.worker_poll_seconds),
                      id="feeds.sync_and_push", max_instances=1, coalesce=True)
