"""Worker jobs of the conflicts: keep the stored conflicts on the rules of the running code, and recompute the
requests and rules that changed while a full refresh ran.

At the worker's start, and every few minutes after (to catch a failed attempt or a database restored from an older
backup), :func:`follow_rules` compares ``conflicts_state`` with ``RULES_REVISION`` and the configured distances and
rebuilds the whole conflict graph when they differ. When they agree it is one primary-key read and logs nothing.

:func:`drain_pending` (every ``DRAIN_EVERY_S`` seconds, and after a rebuild of :func:`follow_rules`) recomputes the
requests and rules queued in ``conflicts_pending`` (see ``service.conflicts.service``), each in a transaction of its
own. With nothing queued it is one read of an empty table and logs nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.conflicts import service
from service.kit.db import session_scope
from service.kit.time import tz
from service.settings import Settings

log = logging.getLogger("baustellen.conflicts")

CHECK_EVERY_S = 300
# Changes are queued only while a full refresh runs (rare: a worker start after an upgrade, the CLI, a plan run
# moving many slots) or when a recomputation of a neighbouring request waits for the change's transaction (rarer:
# both at the same instant; see ``service.conflicts.service``), and an idle round is one index read of an empty
# table: every 10 s keeps a request's conflicts stale for at most about that long after the refresh (or the other
# recomputation) has ended, at no cost worth counting.
DRAIN_EVERY_S = 10
DRAIN_BATCH = 500  # targets read per round; the round reads again until nothing is left or a full refresh starts


def follow_rules(context: Any) -> str:
    """The worker's check: ``current`` when the stored conflicts follow this code's rules, else ``recomputed``
    (after rebuilding them in one transaction, and recomputing what changed meanwhile)."""
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
    drain_pending(context)
    return "recomputed"


@dataclass
class DrainStats:
    done: int = 0  # requests and rules recomputed
    busy: int = 0  # left for the next round (being changed, drained elsewhere, or a lock wait gave up)
    stopped: bool = False  # a full refresh started: the rest waits for the next round
    left: int = 0  # still queued afterwards
    by_kind: dict[str, int] = field(default_factory=dict)


def drain(factory: sessionmaker[Session], settings: Settings | None = None,
          progress: Callable[[str, Any], None] | None = None) -> DrainStats:
    """Recompute every queued request and rule, one transaction each, until none is left (but those left for the
    next round) or a full refresh starts. Each target is looked at once per call. ``progress(kind, target_id)`` is
    told of each one recomputed."""
    stats, seen = DrainStats(), set()
    while not stats.stopped:
        with session_scope(factory) as session:
            targets = [t for t in service.pending_targets(session, DRAIN_BATCH) if t not in seen]
        if not targets:
            break
        for kind, target_id in targets:
            seen.add((kind, target_id))
            try:
                with session_scope(factory) as session:
                    result = service.drain_target(session, kind, target_id, settings)
            except OperationalError as exc:  # gave up waiting for a row lock (or lost a deadlock): next round
                log.info("conflicts: %s %s left for the next round (%s)", kind, target_id,
                         type(exc.orig).__name__ if exc.orig is not None else "lock")
                result = "busy"
            if result == "refresh":
                stats.stopped = True
                break
            if result == "done":
                stats.done += 1
                stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
                if progress is not None:
                    progress(kind, target_id)
            elif result == "busy":
                stats.busy += 1
    if seen:
        with session_scope(factory) as session:
            stats.left = service.pending_count(session)
    return stats


def drain_pending(context: Any) -> DrainStats:
    """The worker's round over ``conflicts_pending``; logs only when it recomputed or left something."""
    started = time.monotonic()
    stats = drain(context.sessionmaker, context.settings)
    if stats.done or stats.left:
        log.info("conflicts: recomputed %d queued change(s) (%s) in %.1f s, %d still queued%s",
                 stats.done, ", ".join(f"{k} {v}" for k, v in sorted(stats.by_kind.items())) or "none",
                 time.monotonic() - started, stats.left, " (a full refresh runs)" if stats.stopped else "")
    return stats


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(follow_rules, "interval", args=[context], seconds=CHECK_EVERY_S, id="conflicts.follow_rules",
                      next_run_time=datetime.now(tz(context.settings)), max_instances=1, coalesce=True)
    scheduler.add_job(drain_pending, "interval", args=[context], seconds=DRAIN_EVERY_S, id="conflicts.drain_pending",
                      max_instances=1, coalesce=True)
