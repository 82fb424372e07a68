"""Keep the conflicts current: every create, change or withdrawal of a request refreshes its conflicts in
the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.conflicts import service


def after_request_change(session: Session, req: Any, kind: str, principal: Any) -> None:
    service.refresh_for_request(session, req.id, session.info.get("settings"))
