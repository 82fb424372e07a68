"""Subscriptions of businesses, and the notice outbox that serves them.

- ``subscriptions``: one inbox's interest in an area (polygon, point+radius, or street within a city),
  with filters, lead time, delivery rhythm and language. ``status`` is ``pending`` until the emailed
  confirmation link is followed (double opt-in), then ``active``. Deleting the row deletes the email
  address and everything sent to it (notices, deliveries, attempts cascade). ``deleted``: unsubscribed while the
  worker held some of its rows (``service.delete``): gone for every reader, its address blanked, the row removed
  by the worker's next round.
- ``webhook_endpoints``: Standard Webhooks receivers of a subscription, each with its ``whsec_`` secret.
- ``notices``: one per subscription and cause (an outbox event, a lead time, a digest, a confirmation, a welcome),
  unique per ``(subscription_id, dedupe_key)``; ``payload`` is the rendered snapshot of the site. ``seq``
  orders them as they were queued (the outbox's order).
- ``notice_deliveries``: one per notice and channel target (the email inbox or a webhook URL), unique per
  ``(inbox, dedupe_key)`` so the same change never reaches the same inbox twice even from two
  subscriptions. Its id is the stable ``Message-ID`` / ``webhook-id`` across retries. ``seq`` orders an
  inbox's queue: deliveries to one inbox go out in ``seq`` order, a later one waits for an earlier retry.
- ``notice_attempts``: every delivery attempt with its outcome.
- ``notice_event_log``: which outbox events the notices consumer has processed.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.kit.db import Base


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    organisation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    confirm_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)  # pending|active|deleted
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    area_kind: Mapped[str] = mapped_column(String(16))  # polygon|circle|street
    area_input: Mapped[dict] = mapped_column(JSONB)
    area = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    area_utm = mapped_column(
        Geometry("MULTIPOLYGON", srid=25832, spatial_index=True), Computed("ST_Transform(area, 25832)", persisted=True)
    )
    street_norm: Mapped[str | None] = mapped_column(String(200))

    kinds: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    min_impact_rank: Mapped[int] = mapped_column(SmallInteger, default=0)
    modes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), default=list)
    lead_days: Mapped[int] = mapped_column(Integer, default=14)
    delivery: Mapped[str] = mapped_column(String(12), default="immediate")  # immediate|daily|weekly
    language: Mapped[str] = mapped_column(String(2), default="de")
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    webhooks: Mapped[list[WebhookEndpoint]] = relationship(
        back_populates="subscription", cascade="all, delete-orphan", passive_deletes=True,
        order_by="WebhookEndpoint.created_at",
    )


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    subscription: Mapped[Subscription] = relationship(back_populates="webhooks")


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    subscription_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("site_requests.id", ondelete="CASCADE"), index=True
    )
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    # Email of a daily/weekly subscription waits for the digest; the digest notice that carried it.
    digest_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notices.id", ondelete="SET NULL"))
    # The moment it was queued (not the transaction's start): the Atom entries' times keep the order.
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.clock_timestamp())

    __table_args__ = (
        UniqueConstraint("subscription_id", "dedupe_key", name="uq_notices_subscription_dedupe"),
        Index("ix_notices_digest_pending", "subscription_id", postgresql_where=text("digest_pending")),
        # the welcomes that listed a site (the ids of its items): who was told about a site that leaves its filter
        Index("ix_notices_welcome_sites", text("jsonb_path_query_array(payload, '$.items[*].site.id'::jsonpath)"),
              postgresql_using="gin", postgresql_where=text("kind = 'welcome'")),
    )


class Delivery(Base):
    __tablename__ = "notice_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    seq: Mapped[int] = mapped_column(BigInteger, Identity())
    notice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # email|webhook
    endpoint_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    inbox: Mapped[str] = mapped_column(String(2000))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending|delivered|failed|cancelled
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("inbox", "dedupe_key", name="uq_notice_deliveries_inbox_dedupe"),
        Index("ix_notice_deliveries_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_notice_deliveries_queue", "inbox", "seq", postgresql_where=text("status = 'pending'")),
        Index("ix_notice_deliveries_pending_seq", "seq", postgresql_where=text("status = 'pending'")),
    )


class Attempt(Base):
    __tablename__ = "notice_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notice_deliveries.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class EventLog(Base):
    """Outbox events the notices consumer has processed (written in the same transaction as its notices)."""

    __tablename__ = "notice_event_log"

    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
