from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from service.auth.models import Organisation
from service.kit.db import Base


class WorkKind(StrEnum):
    gas = "gas"
    water = "water"
    sewer = "sewer"
    district_heating = "district_heating"
    power = "power"
    telecom = "telecom"
    road_maintenance = "road_maintenance"
    road_construction = "road_construction"
    tram_track = "tram_track"
    rail = "rail"
    bridge = "bridge"
    building = "building"
    event = "event"
    other = "other"


EXCAVATING_KINDS = frozenset(
    {"gas", "water", "sewer", "district_heating", "power", "telecom", "road_construction", "tram_track"}
)
UTILITY_KINDS = frozenset({"gas", "water", "sewer", "district_heating", "power", "telecom"})


class Impact(StrEnum):
    none = "none"
    footway = "footway"
    lane_reduction = "lane_reduction"
    one_way = "one_way"
    full_closure = "full_closure"


IMPACT_ORDER = {i.value: n for n, i in enumerate(Impact)}


class Mode(StrEnum):
    """The traffic works affect. `tram` (trams and Stadtbahn) and `bus` tell the two apart; `transit`, the value
    from before they could be told apart, names both and keeps its meaning."""

    pedestrian = "pedestrian"
    cycle = "cycle"
    car = "car"
    tram = "tram"
    bus = "bus"
    transit = "transit"
    rail = "rail"


class Shift(StrEnum):
    continuous = "continuous"
    day = "day"
    night = "night"


class Urgency(StrEnum):
    planned = "planned"
    urgent = "urgent"
    emergency = "emergency"


class Status(StrEnum):
    draft = "draft"
    submitted = "submitted"
    slot_proposed = "slot_proposed"
    accepted = "accepted"
    contested = "contested"
    approved = "approved"
    rejected = "rejected"
    active = "active"
    completed = "completed"
    withdrawn = "withdrawn"


def public_title_of(title: str | None) -> str:
    """``title`` as the public reads it (``SiteRequest.public_title``), scrubbed with the rules of this code."""
    from service.feeds.common import scrub  # pure text rules; imported here so models load no domain logic

    return scrub(title or "")[:300]


class SiteRequest(Base):
    __tablename__ = "site_requests"
    __table_args__ = (UniqueConstraint("owner_id", "external_id", name="uq_site_requests_owner_external_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    # the title as the public reads it (the map's public collections and tiles): without e-mail addresses, phone
    # numbers and names of persons, as the feeds publish it; set with every title (``_public_title``, migration 0023)
    public_title: Mapped[str] = mapped_column(String(300), default="")
    # the revision of the scrubbing rules (``service.feeds.common.SCRUB_REVISION``) ``public_title`` was made with;
    # rows on an older one are scrubbed again (``service.requests.service.refresh_public_titles``, migration 0024)
    public_title_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[dict] = mapped_column(JSONB, default=dict)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    impact: Mapped[str] = mapped_column(String(32))
    modes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    shift: Mapped[str] = mapped_column(String(16), default="continuous")
    urgency: Mapped[str] = mapped_column(String(16), default="planned")
    status: Mapped[str] = mapped_column(String(16), index=True)

    geom = mapped_column(Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=False)
    geom_utm = mapped_column(
        Geometry("GEOMETRY", srid=25832, spatial_index=True), Computed("ST_Transform(geom, 25832)", persisted=True)
    )
    # Web Mercator copies for the map's vector tiles (``ST_AsMVT`` works in 3857): transforming thousands of
    # sites per low-zoom tile was most of its time. Deferred: nothing but tiles reads them.
    geom_3857 = mapped_column(
        Geometry("GEOMETRY", srid=3857, spatial_index=False), Computed("ST_Transform(geom, 3857)", persisted=True),
        deferred=True,
    )
    point_3857 = mapped_column(
        Geometry("POINT", srid=3857, spatial_index=False),
        Computed("ST_Transform(ST_PointOnSurface(geom), 3857)", persisted=True), deferred=True,
    )
    diversions_geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=True)
    diversions_utm = mapped_column(
        Geometry("MULTILINESTRING", srid=25832, spatial_index=True),
        Computed("ST_Transform(diversions_geom, 25832)", persisted=True),
    )
    replacement_geom = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False), nullable=True)
    replacement_utm = mapped_column(
        Geometry("MULTILINESTRING", srid=25832, spatial_index=True),
        Computed("ST_Transform(replacement_geom, 25832)", persisted=True),
    )

    earliest_start: Mapped[date] = mapped_column(Date)
    latest_end: Mapped[date] = mapped_column(Date)
    duration_days: Mapped[int] = mapped_column(Integer)
    preferred_start: Mapped[date | None] = mapped_column(Date)
    bundle_with: Mapped[list[str]] = mapped_column(ARRAY(String(36)), default=list)
    geometry_notes: Mapped[list[str]] = mapped_column(JSONB, default=list)
    source: Mapped[str] = mapped_column(String(32), default="api")

    @validates("title")
    def _public_title(self, _key: str, title: str) -> str:
        from service.feeds.common import SCRUB_REVISION  # pure text rules; imported here: models load no domain

        self.public_title = public_title_of(title)
        self.public_title_rev = SCRUB_REVISION
        return title

    version: Mapped[int] = mapped_column(Integer, default=1)
    # clock_timestamp(), not now(): requests imported in one transaction keep the order they were stored in
    # (first-come-first-served orders by it; migration 0009)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp(),
                                                 index=True)
    # equal to created_at on insert (trigger of migration 0012), then the clock of each change
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp(), onupdate=func.clock_timestamp()
    )

    owner: Mapped[Organisation] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class RequestPrecedence(Base):
    """``request_id`` may start only after ``predecessor_id`` has ended: at least ``min_gap_days`` whole days lie
    between the predecessor's last day and the request's first day, and at most ``max_gap_days`` (null: no limit).
    ``position`` keeps the order of the request's ``after`` list."""

    __tablename__ = "request_precedences"
    __table_args__ = (
        CheckConstraint("request_id <> predecessor_id", name="ck_request_precedences_not_self"),
        CheckConstraint("min_gap_days >= 0", name="ck_request_precedences_min_gap"),
        CheckConstraint("max_gap_days IS NULL OR max_gap_days >= min_gap_days",
                        name="ck_request_precedences_max_gap"),
    )

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("site_requests.id", ondelete="CASCADE"), primary_key=True
    )
    predecessor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("site_requests.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    min_gap_days: Mapped[int] = mapped_column(Integer, default=0)
    max_gap_days: Mapped[int | None] = mapped_column(Integer)


class IdempotencyRecord(Base):
    """What a POST with an ``Idempotency-Key`` answered, so a retry gets the same answer; kept for
    ``Settings.idempotency_keep_hours`` (``repository.purge_idempotency``, by ``created_at``: migration 0026)."""

    __tablename__ = "idempotency_keys"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
