from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.kit.db import Base


class OrgKind(StrEnum):
    road_authority = "road_authority"
    city = "city"
    transit_operator = "transit_operator"
    rail = "rail"
    utility = "utility"
    coordinator = "coordinator"
    business = "business"


class Role(StrEnum):
    submitter = "submitter"
    coordinator = "coordinator"
    admin = "admin"


class KeyStatus(StrEnum):
    """Whether a key is accepted (``service.key_status``): ``role_not_allowed`` is a coordinator or admin key of an
    organisation not of kind coordinator, made before that rule or before the organisation's kind changed."""

    active = "active"
    revoked = "revoked"
    role_not_allowed = "role_not_allowed"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # unique regardless of case (migration 0027): ``repository.get_org_by_name`` compares the same way
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    keys: Mapped[list[ApiKey]] = relationship(back_populates="organisation")

    __table_args__ = (Index("uq_organisations_lower_name", func.lower(name), unique=True),)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    organisation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship(back_populates="keys", lazy="joined")
