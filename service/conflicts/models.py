"""Conflict rules managed by the coordination office, the stored conflicts and the dig-once opportunities.

Rules (zones, corridors, moratoriums, blackouts) keep their geometry in EPSG:4326 plus a generated,
GiST-indexed EPSG:25832 copy for metric queries, like site requests do.

``conflicts`` holds one row per (pair, kind) — or (request, rule) for moratoriums and blackouts, where
``request_b`` is null; a unique index keeps it so. Pairs are stored with ``request_a < request_b``. Corridor and
zone conflicts are pairs too: two requests on the same rule that are active together on a day on which the rule is
over capacity; the rule's id and the peak set are recorded. The explanation sentence (German, English) is rendered from
``reason`` when read.

``conflicts_state`` (one row) records what the stored conflicts were computed with: the revision of the detection
rules and a fingerprint of the settings that shape them, so that the worker recomputes them after an upgrade.

``conflicts_pending`` lists the requests and rules that changed while a full refresh ran (or while another
recomputation held the lock and waited for the change's transaction): their stored conflicts may follow their older
state until the worker recomputes them (``service.conflicts.jobs.drain_pending``).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from service.kit.db import Base


class ConflictKind(StrEnum):
    space = "space"
    diversion = "diversion"
    corridor = "corridor"
    zone = "zone"
    moratorium = "moratorium"
    blackout = "blackout"
    same_owner = "same_owner"


class CorridorKind(StrEnum):
    arterial = "arterial"
    tram = "tram"
    rail = "rail"
    bus = "bus"


class RuleArea:
    """Geometry in EPSG:4326 with its generated, GiST-indexed EPSG:25832 copy, and timestamps: what every
    rule table (zones, corridors, moratoriums, blackouts) has."""

    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False)
    geom_utm = mapped_column(
        Geometry("GEOMETRY", srid=25832, spatial_index=True), Computed("ST_Transform(geom, 25832)", persisted=True)
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Zone(RuleArea, Base):
    __tablename__ = "zones"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int] = mapped_column(Integer)
    min_impact: Mapped[str] = mapped_column(String(32), default="lane_reduction")


class Corridor(RuleArea, Base):
    __tablename__ = "corridors"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    buffer_m: Mapped[float] = mapped_column(Float, default=25.0)
    max_concurrent: Mapped[int] = mapped_column(Integer, default=1)
    min_impact: Mapped[str] = mapped_column(String(32), default="lane_reduction")
    routes: Mapped[list] = mapped_column(JSONB, default=list)
    stops: Mapped[list] = mapped_column(JSONB, default=list)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )


class Moratorium(RuleArea, Base):
    __tablename__ = "moratoriums"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)


class Blackout(RuleArea, Base):
    __tablename__ = "blackouts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    max_impact: Mapped[str] = mapped_column(String(32), default="none")
    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=True)  # null = region


# Rule names are unique regardless of case ("Rüttenscheid" and "rüttenscheid" would be one rule to a reader);
# migration 0020 replaced the case-sensitive unique constraints. ``repository.get_rule_by_name`` compares the same way.
RULE_NAME_INDEXES = frozenset(
    Index(f"uq_{model.__tablename__}_lower_name", func.lower(model.name), unique=True).name
    for model in (Zone, Corridor, Moratorium, Blackout)
)


# One row per pair (or request) per kind and rule: what a recomputation deletes and inserts again. Nulls count as
# equal (a moratorium row has no ``request_b``, a pair no rule). Recomputations run one at a time, so this only
# guards against a bug storing a conflict twice (migration 0021 removed the duplicates stored before).
CONFLICT_IDENTITY_INDEX = "uq_conflicts_identity"
CONFLICT_IDENTITY = ("request_a", "request_b", "kind", "zone_id", "corridor_id", "moratorium_id", "blackout_id")


class Conflict(Base):
    __tablename__ = "conflicts"
    __table_args__ = (
        CheckConstraint("request_b IS NULL OR request_a < request_b", name="ck_conflicts_pair_order"),
        Index(CONFLICT_IDENTITY_INDEX, *CONFLICT_IDENTITY, unique=True, postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    request_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), index=True)
    request_b: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("site_requests.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), index=True)
    hard: Mapped[bool] = mapped_column(Boolean)
    distance_m: Mapped[float | None] = mapped_column(Float)
    overlap_start: Mapped[date] = mapped_column(Date)
    overlap_end: Mapped[date] = mapped_column(Date)
    reason: Mapped[dict] = mapped_column(JSONB, default=dict)
    zone_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"), index=True)
    corridor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("corridors.id", ondelete="CASCADE"), index=True
    )
    moratorium_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("moratoriums.id", ondelete="CASCADE"), index=True
    )
    blackout_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("blackouts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Opportunity(Base):
    """A dig-once pair: close in space, windows within a few months, road works + utility (or two utilities)."""

    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("request_a", "request_b", name="uq_opportunities_pair"),
        CheckConstraint("request_a < request_b", name="ck_opportunities_pair_order"),
        # the list's order and its cursor (``repository.list_opportunities``: ORDER BY status, distance_m, id; the
        # next page WHERE (status, distance_m, id) > ...), so a page is read in index order, not by sorting every
        # pair; its leading column serves the lookups by status too (migration 0026)
        Index("ix_opportunities_status_distance_id", "status", "distance_m", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    request_a: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), index=True)
    request_b: Mapped[uuid.UUID] = mapped_column(ForeignKey("site_requests.id", ondelete="CASCADE"), index=True)
    distance_m: Mapped[float] = mapped_column(Float)
    gap_days: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | accepted
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConflictsState(Base):
    """The one row saying what the stored conflicts follow: ``rules_revision`` (the code's
    ``service.conflicts.service.RULES_REVISION`` at the last full refresh; 0 = computed before revisions were
    recorded) and ``config_hash`` (a fingerprint of the distances and dig-once limits then configured)."""

    __tablename__ = "conflicts_state"
    __table_args__ = (CheckConstraint("id = 1", name="ck_conflicts_state_one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False, default=1)
    rules_revision: Mapped[int] = mapped_column(Integer)
    config_hash: Mapped[str] = mapped_column(String(64), default="")
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


PENDING_KINDS = ("request", "zone", "corridor", "moratorium", "blackout")


class ConflictPending(Base):
    """A request (``kind = 'request'``) or a rule (its type) changed while a full refresh held its lock, or while
    another recomputation held the single-recomputation lock and could not go on before the change committed: the
    change did not touch ``conflicts`` (waiting could deadlock), and its conflicts are recomputed once that lock is
    free. An append-only queue: one row per change (never updated, so recording one never waits on the job
    draining it); the job recomputes a target once for all its rows and deletes just the rows it saw."""

    __tablename__ = "conflicts_pending"
    __table_args__ = (
        CheckConstraint("kind IN (" + ", ".join(f"'{k}'" for k in PENDING_KINDS) + ")",
                        name="ck_conflicts_pending_kind"),
        Index("ix_conflicts_pending_target", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID]
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
