"""Worker jobs of the notices domain, as plain functions the worker, the tests and the benchmarks call.

- ``process_events``: outbox events → notices (same transaction as marking the events processed);
- ``queue_lead_notices``: "starts in N days", daily;
- ``queue_digests``: daily/weekly digests, checked every few minutes;
- ``deliver_batch``: send what is due (email, webhooks) with retries;
- ``expire_pending``: unconfirmed subscriptions are deleted after 7 days;
- ``purge_deleted``: subscriptions deleted while the worker held some of their rows (``service.delete``) are
  removed for good, after every delivery round.

``python -m service.notices.jobs`` runs just the notices loop (used by the worker-kill test).
"""

from __future__ import annotations

import argparse
import logging
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from service.kit.db import make_engine, make_sessionmaker, session_scope
from service.kit.time import today
from service.notices import service
from service.notices.delivery import DeliveryStats, deliver_batch
from service.settings import Settings

log = logging.getLogger("baustellen.notices")

__all__ = ["deliver_batch", "process_events", "purge_deleted", "queue_lead_notices", "queue_digests", "run_once",
           "register"]


def process_events(session: Session, settings: Settings, *, limit: int = 500) -> int:
    return service.process_events(session, settings, limit=limit)


def queue_lead_notices(session: Session, settings: Settings, *, on: Any = None) -> int:
    return service.queue_lead_notices(session, settings, on or today(settings))


def queue_digests(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    return service.queue_digests(session, settings, now or datetime.now(UTC))


def expire_pending(session: Session, settings: Settings, *, now: datetime | None = None) -> int:
    return service.expire_pending(session, now or datetime.now(UTC))


def purge_deleted(session: Session, settings: Settings) -> int:
    return service.purge_deleted(session)


def run_once(factory: sessionmaker[Session], settings: Settings, *, chunk: int = 50) -> DeliveryStats:
    """Drain the outbox into notices, deliver what is due, then remove the subscriptions deleted meanwhile."""
    for _ in range(1000):
        with session_scope(factory) as session:
            if not _more_events(session):
                break
            process_events(session, settings)
    stats = deliver_batch(factory, settings, limit=5000, chunk=chunk)
    with session_scope(factory) as session:
        purged = purge_deleted(session, settings)
    if purged:
        log.info("purged %d deleted subscriptions", purged)
    return stats


def _more_events(session: Session) -> bool:
    from service.notices import repository

    return bool(repository.unprocessed_events(session, 1))


def register(scheduler: Any, context: Any) -> None:
    factory, settings = context.sessionmaker, context.settings

    def _guard(name: str, fn: Any) -> Any:
        def job() -> None:
            try:
                result = fn()
                if result:
                    log.info("%s: %s", name, result)
            except Exception:  # a failing job must not stop the worker; it runs again next time
                log.exception("notices job %s failed", name)
        return job

    def notices_loop() -> DeliveryStats:
        return run_once(factory, settings)

    def lead() -> int:
        with session_scope(factory) as session:
            return queue_lead_notices(session, settings)

    def digests() -> int:
        with session_scope(factory) as session:
            return queue_digests(session, settings)

    def expire() -> int:
        with session_scope(factory) as session:
            return expire_pending(session, settings)

    common = {"max_instances": 1, "coalesce": True}
    scheduler.add_job(_guard("deliver", notices_loop), "interval", seconds=settings.worker_poll_seconds,
                      id="notices.deliver", **common)
    scheduler.add_job(_guard("lead", lead), "interval", hours=1, id="notices.lead_time",
                      next_run_time=datetime.now(UTC), **common)
    scheduler.add_job(_guard("digests", digests), "interval", minutes=5, id="notices.digests", **common)
    scheduler.add_job(_guard("expire", expire), "interval", hours=6, id="notices.expire", **common)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the notices outbox and delivery loop until killed.")
    parser.add_argument("--chunk", type=int, default=50, help="deliveries per transaction")
    parser.add_argument("--poll", type=float, default=None, help="seconds between rounds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings()
    factory = make_sessionmaker(make_engine(settings))
    poll = args.poll if args.poll is not None else settings.worker_poll_seconds
    while True:
        stats = run_once(factory, settings, chunk=args.chunk)
        if stats.claimed:
            log.info("delivered %d of %d claimed", stats.delivered, stats.claimed)
        else:
            time.sleep(poll)


if __name__ == "__main__":
    raise SystemExit(main())
