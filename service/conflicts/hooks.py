"""Keep the conflicts current: every create, change or withdrawal of a request refreshes its conflicts in
the same transaction (during a plan run's write: all of them once, at its end)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.conflicts import service

# ``session.info`` key: while it holds a set, the requests changed are collected in it instead of being refreshed
# one by one. A plan run's write sets it (``service.slots.service.write_plan``): it proposes thousands of slots and
# then refreshes the conflicts of all of them at once (one set-based rebuild when many moved).
DEFERRED = "conflicts.deferred_refresh"


def after_request_change(session: Session, req: Any, kind: str, principal: Any) -> None:
    deferred = session.info.get(DEFERRED)
    if deferred is not None:
        deferred.add(req.id)
        return
    service.refresh_for_request(session, req.id, session.info.get("settings"))
