"""What the open data feeds have published, so that updates carry a new version and withdrawals a cancellation.

``feed_publications`` has one row per site request that has ever been published. It is reconciled with the
requests (and their slots) by :func:`service.feeds.service.sync` before every feed is built and by the worker:
a new publishable request gets version 1; any change of what is published (the request's own version, its
status, its slot) bumps ``version`` and ``last_changed``; a published request that is no longer publishable
gets ``cancelled_at`` and ``end_reason`` (``cancelled`` when withdrawn / rejected / taken back, ``closed`` when
completed or past its end date). If it becomes publishable again, ``cancelled_at`` is cleared and the version
bumped once more.

``records`` are the DATEX II situation record ids the site published at ``records_version`` (``None``: not yet
known, a row from before migration 0022). When a still-published site no longer has one of them (a full closure
becomes a footway restriction: no ``{id}_closure`` record), ``feed_dropped_records`` keeps it with the version it was
last published in, so that DATEX II lists it as cancelled, as it does for the records of a withdrawn site
(:func:`service.feeds.service.track_records`).

``feed_push_state`` remembers, per push target, what was last delivered and when to retry.

``feed_content_state`` remembers, per feed and settings variant, the hash of its content and since when it is
current, so that ``Last-Modified`` moves whenever the content does (see
:func:`service.feeds.service.modified_since`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from service.kit.db import Base


class FeedPublication(Base):
    __tablename__ = "feed_publications"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("site_requests.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    fingerprint: Mapped[str] = mapped_column(String(64))
    first_published: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_changed: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    end_reason: Mapped[str | None] = mapped_column(String(16))
    records: Mapped[list[str] | None] = mapped_column(ARRAY(String(64)))
    records_version: Mapped[int | None] = mapped_column(Integer)


class FeedDroppedRecord(Base):
    """A DATEX II situation record that a still-published site published and no longer has: listed as cancelled
    (``version``: the publication version it was last published in) for the retention time after ``dropped_at``."""

    __tablename__ = "feed_dropped_records"

    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("feed_publications.request_id", ondelete="CASCADE"), primary_key=True
    )
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    dropped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class FeedPushState(Base):
    __tablename__ = "feed_push_state"

    target: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    delivered_hash: Mapped[str | None] = mapped_column(String(64))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class FeedContentState(Base):
    __tablename__ = "feed_content_state"

    feed: Mapped[str] = mapped_column(String(16), primary_key=True)  # datex2 | wzdx | gtfsrt
    variant: Mapped[str] = mapped_column(String(16), primary_key=True)  # hash of the settings shaping the feed
    content_hash: Mapped[str] = mapped_column(String(64))
    modified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
