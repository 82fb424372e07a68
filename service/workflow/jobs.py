"""Worker jobs of the workflow: answer deadlines (deemed approvals, lapsed proposals)."""

from __future__ import annotations

import logging
from typing import Any

from service.kit.db import session_scope
from service.kit.time import now
from service.workflow import service

log = logging.getLogger("baustellen.workflow")

DEADLINE_INTERVAL_S = 300


def run_deadlines(context: Any) -> service.DeadlineReport:
    with session_scope(context.sessionmaker) as session:
        report = service.check_deadlines(session, context.settings, now=now(context.settings))
    if report.deemed_approved or report.lapsed:
        log.info("deadlines: %d deemed approved, %d lapsed", len(report.deemed_approved), len(report.lapsed))
    return report


def register(scheduler: Any, context: Any) -> None:
    scheduler.add_job(run_deadlines, "interval", seconds=DEADLINE_INTERVAL_S, args=[context],
                      id="workflow.deadlines", max_instances=1, coalesce=True)
