"""Worker job of the conflicts: keep the stored conflicts on the rules of the running code.

At the worker's start, and every few minutes after (to catch a failed attempt or a database restored from an older
backup), :func:`follow_rules` compares ``conflicts_state`` with ``RULES_REVISION`` and the configured distances and
rebuilds the whole conflict graph when they differ. When they agree it is one primary-key read and logs nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from service.conflicts import service
from service.kit.db import session_scope
from service.kit.time import tz

log = logging.getLogger("baustellen.conflicts")

CHECK_EVERY_S = 300


def follow_rules(context: Any) -> str:
    """The worker's check: ``current`` when the stored conflicts follow this code's rules, else ``recomputed``
    (after rebuilding them in one transaction)."""
    started = time.monotonic()
    with session_scope(context.sessionmaker) as session:
        state = service.rules_state(session, context.settings)
        if state.stale:
            log.info("conflicts: stored with rules revision %d, this code has %d%s: recomputing them all",
                     state.stored_revision, state.current_revision,
                     "" if state.config_matches or state.stored_revision != state.current_revision
                     else " (same revision, other distance settings)")
        stats = service.follow_rules(session, context.settings,
                                     progress=lambda step: log.info("conflicts: recomputing %s", step))
    if stats is None:
        if state.stale:
            log.info("conflicts: another process recomputed them meanwhile")
        return "current"
    log.info("conflicts: now on rules revision %d (%s) in %.1f s", service.RULES_REVISION,
             ", ".join(f"{k} {v}" for k, v in stats.items()), time.monotonic() - started)
    return "recomputed"


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(follow_rules, "interval", args=[context], seconds=CHECK_EVERY_S, id="conflicts.follow_rules",
                      next_run_time=datetime.now(tz(context.settings)), max_instances=1, coalesce=True)
