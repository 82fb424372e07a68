from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.events.models import Event


def add(session: Session, event: Event) -> Event:
    session.add(event)
    session.flush()
    return event


def list_after(session: Session, after_id: int, limit: int = 500) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)))
