"""Workflow tables: the append-only request history, comments, pending changes after approval, and the
deadline that currently runs for each request."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.kit.db import Base


class RequestHistory(Base):
    """One row per change of a request, its slot or its state. Append-only: a trigger (migration 0004)
    refuses UPDATE and DELETE. ``before``/``after`` hold only the fields that changed."""

    __tablename__ = "request_history"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_request_history_request_seq"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())
    actor: Mapped[str] = mapped_column(String(16))  # owner | coordinator | system
    organisation_id: Mapped[uuid.UUID | None] = mapped_column()
    key_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    reason: Mapped[str | None] = mapped_column(Text)
    reason_code: Mapped[str | None] = mapped_column(String(64))


class RequestComment(Base):
    __tablename__ = "request_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    key_id: Mapped[uuid.UUID | None] = mapped_column()
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())


class RequestChange(Base):
    """A change asked for after approval: extension, new area, another effect on traffic (impact, modes,
    shift, diversions, replacement routes) and/or other precedences (``after``). Pending until a coordinator
    decides; the old slot stays valid until then. Each field null keeps the request's value; an empty route
    MULTILINESTRING removes its routes.
    ``start``/``end`` is the placement found for the changed works (null when none fits), ``conflicts`` the
    requests it still conflicts with there. ``placement`` also keeps the precedences the change gives (key
    ``after``: the request's new ``after`` list, absent when the change keeps it) and those its slot breaks (key
    ``precedences``); the change's JSON shows both apart."""

    __tablename__ = "request_changes"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | approved | rejected | withdrawn | cancelled
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    key_id: Mapped[uuid.UUID | None] = mapped_column()
    latest_end: Mapped[date | None] = mapped_column(Date)
    duration_days: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=True)
    impact: Mapped[str | None] = mapped_column(String(32))  # migration 0014
    modes: Mapped[list[str] | None] = mapped_column(ARRAY(String(16)))
    shift: Mapped[str | None] = mapped_column(String(16))
    diversions_geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=True)
    replacement_geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text)
    start: Mapped[date | None] = mapped_column(Date)
    end: Mapped[date | None] = mapped_column(Date)
    conflicts: Mapped[list] = mapped_column(JSONB, default=list)
    placement: Mapped[dict] = mapped_column(JSONB, default=dict)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    decision_reason_code: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RequestDeadline(Base):
    """The answer deadline that runs for a request now: ``party`` (coordinator | owner) must answer while
    the request is in ``status`` before ``due_at``. Cleared or replaced by every transition."""

    __tablename__ = "request_deadlines"

    request_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"),
                                                  primary_key=True)
    party: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
