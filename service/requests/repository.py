"""All SQL for site requests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    Row,
    String,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import column, table

from service.auth.models import Organisation
from service.kit.spatial_sql import geojson_sql
from service.requests.models import IdempotencyRecord, RequestPrecedence, SiteRequest

# The slots domain's table, read (never written) here for the list's date filter; named as a table clause so the
# foundation does not import that domain.
_slots = table("slots", column("request_id"), column("start", Date), column("end", Date), column("status", String))
# The workflow's changes after approval, read here for the list's ``pending_change`` filter (likewise).
_changes = table("request_changes", column("request_id"), column("status", String))
# When a site is set up: the dates of its slot when the planner proposed it, a coordinator locked it or the
# workflow approved it, else its requested window; the same rule as the map's EFFECTIVE_START / EFFECTIVE_END
# (service/map/repository.py) and the OGC API's ``datetime``.
DATED_SLOT_STATUSES = ("proposed", "locked", "approved")


def _effective(slot_day, window_day):  # noqa: ANN001, ANN202 - SQL expressions
    return case((and_(_slots.c.status.in_(DATED_SLOT_STATUSES), slot_day.is_not(None)), slot_day), else_=window_day)


def _summary_feature_json(viewer_org: uuid.UUID | None):  # noqa: ANN202 - SQL expression
    """The public summary as a GeoJSON Feature, built by PostgreSQL (no contact, no description). Its title as
    ``viewer_org`` reads it: as written for its own requests (and for a coordinator, ``None``), others' as the
    public does (``public_title``). The ``external_id`` is the owner's internal reference: null in others'."""
    title = SiteRequest.title if viewer_org is None else case(
        (SiteRequest.owner_id == viewer_org, SiteRequest.title), else_=SiteRequest.public_title)
    external_id = SiteRequest.external_id if viewer_org is None else case(
        (SiteRequest.owner_id == viewer_org, SiteRequest.external_id), else_=None)
    props = func.json_build_object(
        "id", cast(SiteRequest.id, Text),
        "title", title,
        "owner", func.json_build_object("id", cast(SiteRequest.owner_id, Text), "name", Organisation.name,
                                        "kind", Organisation.kind),
        "kind", SiteRequest.kind,
        "impact", SiteRequest.impact,
        "modes", SiteRequest.modes,
        "shift", SiteRequest.shift,
        "status", SiteRequest.status,
        "urgency", SiteRequest.urgency,
        "earliest_start", SiteRequest.earliest_start,
        "latest_end", SiteRequest.latest_end,
        "duration_days", SiteRequest.duration_days,
        "preferred_start", SiteRequest.preferred_start,
        "external_id", external_id,
    )
    return cast(
        func.json_build_object(
            "type", "Feature", "id", cast(SiteRequest.id, Text),
            # 7 decimals, valid on that grid (service.kit.spatial_sql.geojson_sql)
            "geometry", cast(literal_column(geojson_sql(f"{SiteRequest.__tablename__}.geom")), JSON),
            "properties", props,
        ),
        Text,
    ).label("feature")


def add(session: Session, req: SiteRequest) -> SiteRequest:
    session.add(req)
    session.flush()
    return req


def get(session: Session, request_id: uuid.UUID, *, for_update: bool = False) -> SiteRequest | None:
    stmt = select(SiteRequest).where(SiteRequest.id == request_id)
    if for_update:
        stmt = stmt.with_for_update(of=SiteRequest)
    return session.scalar(stmt)


def get_many(session: Session, ids: Sequence[uuid.UUID]) -> list[SiteRequest]:
    if not ids:
        return []
    return list(session.scalars(select(SiteRequest).where(SiteRequest.id.in_(ids))))


def get_by_external_id(session: Session, owner_id: uuid.UUID, external_id: str) -> SiteRequest | None:
    return session.scalar(
        select(SiteRequest).where(SiteRequest.owner_id == owner_id, SiteRequest.external_id == external_id)
    )


def list_summaries(
    session: Session,
    *,
    viewer_org: uuid.UUID | None,
    bbox: tuple[float, float, float, float] | None = None,
    start: date | None = None,
    end: date | None = None,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    owners: Sequence[uuid.UUID] = (),
    external_id: str | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    limit: int = 100,
    pending_change: bool | None = None,
) -> list[Row[Any]]:
    """Public summaries as GeoJSON Feature text (``feature``), in (created_at, id) order. ``viewer_org=None`` means a
    coordinator: drafts of every organisation are included; otherwise only the viewer's own drafts. ``start`` and
    ``end`` keep the sites set up on some day between them: by their slot's dates where they have a dated slot
    (proposed, locked, approved), else by their requested window. ``pending_change`` keeps the requests with (true)
    or without (false) a change after approval waiting for a decision, the viewer's own only (a coordinator's: any)."""
    stmt = select(SiteRequest.created_at, SiteRequest.id, _summary_feature_json(viewer_org)).join(
        Organisation, Organisation.id == SiteRequest.owner_id
    )
    if viewer_org is not None:
        stmt = stmt.where(or_(SiteRequest.status != "draft", SiteRequest.owner_id == viewer_org))
    if bbox is not None:
        stmt = stmt.where(SiteRequest.geom.intersects(func.ST_MakeEnvelope(*bbox, 4326)))
    if start is not None or end is not None:
        stmt = stmt.outerjoin(_slots, _slots.c.request_id == SiteRequest.id)
    if start is not None:
        stmt = stmt.where(_effective(_slots.c.end, SiteRequest.latest_end) >= start)
    if end is not None:
        stmt = stmt.where(_effective(_slots.c.start, SiteRequest.earliest_start) <= end)
    if statuses:
        stmt = stmt.where(SiteRequest.status.in_(statuses))
    if kinds:
        stmt = stmt.where(SiteRequest.kind.in_(kinds))
    if owners:
        stmt = stmt.where(SiteRequest.owner_id.in_(owners))
    if external_id is not None:  # others' external ids are not theirs to see: a viewer matches only its own
        stmt = stmt.where(SiteRequest.external_id == external_id)
        if viewer_org is not None:
            stmt = stmt.where(SiteRequest.owner_id == viewer_org)
    if pending_change is not None:  # whether a change is pending is the owner's and the coordinators' to know
        has = select(_changes.c.request_id).where(_changes.c.request_id == SiteRequest.id,
                                                  _changes.c.status == "pending").exists()
        stmt = stmt.where(has if pending_change else ~has)
        if viewer_org is not None:
            stmt = stmt.where(SiteRequest.owner_id == viewer_org)
    if after is not None:
        stmt = stmt.where(tuple_(SiteRequest.created_at, SiteRequest.id) > tuple_(*after))
    stmt = stmt.order_by(SiteRequest.created_at, SiteRequest.id).limit(limit)
    return list(session.execute(stmt))


def count(session: Session, **filters: Any) -> int:
    stmt = select(func.count()).select_from(SiteRequest)
    conds = [getattr(SiteRequest, k) == v for k, v in filters.items()]
    if conds:
        stmt = stmt.where(and_(*conds))
    return int(session.scalar(stmt) or 0)


def get_idempotency(session: Session, org_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
    return session.get(IdempotencyRecord, (org_id, key))


def lock_idempotency_key(session: Session, org_id: uuid.UUID, key: str) -> None:
    """Serialise concurrent retries with the same key for the rest of the transaction."""
    session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"{org_id}:{key}", 0))))


def add_idempotency(session: Session, record: IdempotencyRecord) -> None:
    session.add(record)
    session.flush()


def purge_idempotency(session: Session, keep_hours: int, *, limit: int | None = None,
                      org_id: uuid.UUID | None = None, key: str | None = None) -> int:
    """Delete the stored answers to ``Idempotency-Key`` calls made more than ``keep_hours`` ago (by the database's
    clock, which set ``created_at``): at most ``limit`` of them (None: all), or only the one of ``org_id`` and
    ``key``. How many were deleted."""
    expired = IdempotencyRecord.created_at < func.now() - timedelta(hours=keep_hours)
    if org_id is not None:
        stmt = delete(IdempotencyRecord).where(expired, IdempotencyRecord.organisation_id == org_id,
                                               IdempotencyRecord.key == key)
    else:
        oldest = select(IdempotencyRecord.organisation_id, IdempotencyRecord.key).where(expired)
        if limit is not None:
            oldest = oldest.order_by(IdempotencyRecord.created_at).limit(limit)
        stmt = delete(IdempotencyRecord).where(
            tuple_(IdempotencyRecord.organisation_id, IdempotencyRecord.key).in_(oldest))
    return session.execute(stmt, execution_options={"synchronize_session": False}).rowcount


# --- precedences --------------------------------------------------------------------------------


def precedences_of(session: Session, request_id: uuid.UUID) -> list[RequestPrecedence]:
    """The requests ``request_id`` comes after, in the order of its ``after`` list."""
    return list(session.scalars(select(RequestPrecedence).where(RequestPrecedence.request_id == request_id)
                                .order_by(RequestPrecedence.position)))


def successors_of(session: Session, request_id: uuid.UUID) -> list[RequestPrecedence]:
    """The precedences naming ``request_id`` as the predecessor (the requests that come after it)."""
    return list(session.scalars(select(RequestPrecedence).where(RequestPrecedence.predecessor_id == request_id)
                                .order_by(RequestPrecedence.request_id)))


def replace_precedences(session: Session, request_id: uuid.UUID, entries: Sequence[dict[str, Any]]) -> None:
    """Store ``entries`` (``request``, ``min_gap_days``, ``max_gap_days``) as the ``after`` list of ``request_id``."""
    session.execute(delete(RequestPrecedence).where(RequestPrecedence.request_id == request_id))
    session.add_all(RequestPrecedence(request_id=request_id, predecessor_id=e["request"], position=k,
                                      min_gap_days=e["min_gap_days"], max_gap_days=e["max_gap_days"])
                    for k, e in enumerate(entries))
    session.flush()


def precedence_path(session: Session, start: uuid.UUID, target: uuid.UUID) -> list[uuid.UUID] | None:
    """A chain ``start`` after x1 after ... after ``target`` of stored precedences (``[start, x1, ..., target]``),
    or None when ``start`` does not come after ``target``, directly or through others."""
    sql = """
    with recursive chain(id, path) as (
        select p.predecessor_id, array[p.request_id, p.predecessor_id]
        from request_precedences p where p.request_id = :start
        union all
        select p.predecessor_id, c.path || p.predecessor_id
        from chain c join request_precedences p on p.request_id = c.id
        where not p.predecessor_id = any(c.path)
    )
    select path from chain where id = :target order by cardinality(path) limit 1
    """
    path = session.scalar(text(sql), {"start": start, "target": target})
    return list(path) if path is not None else None


# --- public titles scrubbed with older rules -------------------------------------------------------------------


def stale_public_titles(
    session: Session, revision: int, limit: int, after: uuid.UUID | None = None
) -> list[Row[tuple[uuid.UUID, str, str]]]:
    """Up to ``limit`` requests (id, title, public_title) whose ``public_title`` was scrubbed with rules older than
    ``revision``, in the order of their ids from after ``after``; locked (in that order) until the transaction ends,
    so a title changed meanwhile waits, and is read as changed."""
    stmt = (select(SiteRequest.id, SiteRequest.title, SiteRequest.public_title)
            .where(SiteRequest.public_title_rev < revision)
            .order_by(SiteRequest.id).limit(limit).with_for_update(of=SiteRequest))
    if after is not None:
        stmt = stmt.where(SiteRequest.id > after)
    return list(session.execute(stmt).all())


def set_public_titles(session: Session, revision: int, titles: Sequence[tuple[uuid.UUID, str]]) -> int:
    """Store (id, public title) pairs made with scrubbing rules ``revision``; how many rows were written. Plain SQL
    on these two columns only: not a change of the request, so neither ``updated_at`` (the ORM's ``onupdate``) nor
    ``version`` (its ETag) moves. A row already on ``revision`` or newer (another process) is left alone."""
    if not titles:
        return 0
    result = session.execute(
        text("""
            UPDATE site_requests AS r SET public_title = v.public_title, public_title_rev = :revision
            FROM unnest(CAST(:ids AS uuid[]), CAST(:titles AS varchar[])) AS v(id, public_title)
            WHERE r.id = v.id AND r.public_title_rev < :revision
        """),
        {"revision": revision, "ids": [i for i, _ in titles], "titles": [t for _, t in titles]},
    )
    return result.rowcount


def has_public_title_rev(session: Session) -> bool:
    """Whether the schema has ``site_requests.public_title_rev`` (migration 0024): ``db upgrade`` to an older
    revision does not."""
    return bool(session.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'site_requests' AND column_name = 'public_title_rev')"
    )))
