"""Slots granted by the solver, and plan runs.

A request has at most one slot row. ``status``: ``proposed`` (by a plan run or the incremental placement
of a new request, then ``provisional`` is true), ``locked`` (a coordinator fixed it), ``approved`` (the
workflow approved it), or ``unplaced`` (the plan found no feasible slot; ``unplaced`` says why).
``start``/``end`` are inclusive dates: ``end - start + 1 == duration_days``.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, String, Text, event, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from service.kit.db import Base


class PlanRun(Base):
    __tablename__ = "plan_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|running|done|failed
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    stats: Mapped[dict] = mapped_column(JSONB, default=dict)
    fcfs: Mapped[dict] = mapped_column(JSONB, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Slot(Base):
    __tablename__ = "slots"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), primary_key=True)
    start: Mapped[date | None] = mapped_column(Date, index=True)
    end: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    explanation: Mapped[dict] = mapped_column(JSONB, default=dict)
    unplaced: Mapped[dict | None] = mapped_column(JSONB)
    plan_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("plan_runs.id", ondelete="SET NULL"), index=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


@event.listens_for(Session, "before_flush")
def _changed_slot_changes_its_request(session: Session, flush_context: Any, instances: Any) -> None:
    """A request's representation includes its slot, so a slot that changes (moved by a plan, proposed again,
    locked, its explanation rewritten) makes a new version of its request: the ETag a client read before no
    longer matches, and ``If-Match`` on approve or accept refuses a slot the caller has not seen. A slot row
    created with its request adds nothing (the new request is version 1 with its first slot)."""
    from service.requests.repository import get_many

    changed = {obj.request_id for obj in session.dirty if isinstance(obj, Slot) and session.is_modified(obj)}
    if not changed:
        return
    with session.no_autoflush:
        for req in get_many(session, sorted(changed)):
            if req not in session.deleted:
                req.updated_at = func.clock_timestamp()  # an UPDATE of the row: version_id_col counts it
