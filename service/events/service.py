from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from service.events import repository
from service.events.models import Event

# Event kinds emitted so far. Later domains add theirs (slot.proposed, request.approved, ...).
REQUEST_CREATED = "request.created"
REQUEST_UPDATED = "request.updated"
REQUEST_WITHDRAWN = "request.withdrawn"


def emit(
    session: Session,
    kind: str,
    *,
    request_id: uuid.UUID | None = None,
    organisation_id: uuid.UUID | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Write an event to the outbox, inside the caller's transaction."""
    return repository.add(
        session, Event(kind=kind, request_id=request_id, organisation_id=organisation_id, payload=payload or {})
    )


def events_after(session: Session, after_id: int, limit: int = 500) -> list[Event]:
    return repository.list_after(session, after_id, limit)
