"""All SQL of the feeds: reconciling ``feed_publications`` with the requests, reading what is published, the DATEX II
records each publication published and those it dropped, the transit corridors near a site, when each feed's content
last changed, and the push state."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.orm import Session

from service.feeds.models import FeedPublication, FeedPushState

# Effective dates: the slot where it is approved or locked, else the request's window; an active site (set up, not
# reported completed) ends today at the earliest: its closure is in the street until its owner reports completion,
# also after its planned end (``:today``, the calendar's day, renewed every day while it overruns).
# Publishable: approved or active, or emergency works that are not (yet) decided; and not over. Night work is
# over when its last night is: the morning after its last day (``:night_today`` is the day whose night runs now).
_CTES = """
with eff as (
    select r.id, r.status, r.urgency, r.version, r.owner_id, r.shift,
           (s.status in ('approved', 'locked') and s.start is not null and s."end" is not null) as from_slot,
           case when s.status in ('approved', 'locked') and s.start is not null and s."end" is not null
                then s.start else r.earliest_start end as start_date,
           greatest(case when s.status in ('approved', 'locked') and s.start is not null and s."end" is not null
                         then s."end" else r.latest_end end,
                    case when r.status = 'active' then cast(:today as date) end) as end_date
    from site_requests r left join slots s on s.request_id = r.id
)
"""
_PUBLISHABLE = """
    ((e.status in ('approved', 'active')
      or (e.urgency = 'emergency' and e.status in ('submitted', 'slot_proposed', 'accepted', 'contested')))
     and (e.end_date >= :today or (e.shift = 'night' and e.end_date >= :night_today)))
"""
_FINGERPRINT = "md5(concat_ws('|', e.version, e.status, e.urgency, e.start_date, e.end_date, e.owner_id))"

_PUBLISH = text(_CTES + f"""
insert into feed_publications as p (request_id, version, fingerprint, first_published, last_changed)
select e.id, 1, {_FINGERPRINT}, clock_timestamp(), clock_timestamp() from eff e where {_PUBLISHABLE}
   and not exists (select 1 from feed_publications q where q.request_id = e.id and q.cancelled_at is null
                   and q.fingerprint = {_FINGERPRINT})
on conflict (request_id) do update
    set version = p.version + 1, fingerprint = excluded.fingerprint, last_changed = excluded.last_changed,
        cancelled_at = null, end_reason = null
    where p.fingerprint <> excluded.fingerprint or p.cancelled_at is not null
""")

_END = text(_CTES + f"""
update feed_publications p
   set cancelled_at = clock_timestamp(), last_changed = clock_timestamp(),
       end_reason = case when e.status in ('withdrawn', 'rejected') then 'cancelled'
                         when e.status = 'completed' or e.end_date < :today then 'closed' else 'cancelled' end
  from eff e
 where e.id = p.request_id and p.cancelled_at is null and not {_PUBLISHABLE}
""")

# ``activated_at``: when an active site was reported set up, i.e. the last history row (workflow domain, append-only)
# that made its status ``active`` (the owner's start, an emergency); a status set otherwise leaves none.
_PUBLISHED = text(_CTES + """
select r.id, r.title, r.description, r.kind, r.impact, r.modes, r.shift, r.urgency, r.status, r.owner_id,
       o.name as owner_name, ST_AsGeoJSON(r.geom, 7) as geometry,
       r.diversions_geom is not null as has_diversion, r.replacement_geom is not null as has_replacement,
       e.start_date, e.end_date, e.from_slot, p.version, p.first_published, p.last_changed,
       case when r.status = 'active' then
           (select max(h.at) from request_history h where h.request_id = r.id and h.after ->> 'status' = 'active')
       end as activated_at
  from feed_publications p
  join site_requests r on r.id = p.request_id
  join organisations o on o.id = r.owner_id
  join eff e on e.id = r.id
 where p.cancelled_at is null
 order by r.id
""")

_ENDED = text("""
select r.id, r.impact, r.kind, r.modes, r.diversions_geom is not null as has_diversion, p.version,
       p.cancelled_at, p.end_reason, p.records
  from feed_publications p join site_requests r on r.id = p.request_id
 where p.cancelled_at is not null and p.cancelled_at >= :since
 order by r.id
""")


def sync(session: Session, today: date, night_today: date) -> int:
    """Reconcile ``feed_publications`` with the requests; returns how many rows changed. ``night_today``: the day
    whose night is running or still ahead (the day before ``today`` until the night shift ends in the morning)."""
    days = {"today": today, "night_today": night_today}
    published = session.execute(_PUBLISH, days).rowcount or 0
    ended = session.execute(_END, days).rowcount or 0
    return published + ended


def published(session: Session, today: date) -> list[Row[Any]]:
    """The published sites, with their effective dates on ``today`` (an active site's end is today at the earliest)."""
    return list(session.execute(_PUBLISHED, {"today": today}))


# The diversion routes of the published requests (one line per route), for the WZDx ``detour`` road events.
_DIVERSIONS = text("""
select r.id, ST_AsGeoJSON(r.diversions_geom, 7) as geometry
  from feed_publications p join site_requests r on r.id = p.request_id
 where p.cancelled_at is null and r.diversions_geom is not null
 order by r.id
""")


def diversions(session: Session) -> list[Row[Any]]:
    return list(session.execute(_DIVERSIONS))


def ended_since(session: Session, since: datetime) -> list[Row[Any]]:
    return list(session.execute(_ENDED, {"since": since}))


# Published rows whose DATEX II records are not known for their current version (a new or changed publication, or
# one from before migration 0022), with what the records depend on (``datex2.site_records``).
_STALE_RECORDS = text("""
select p.request_id, p.version, p.records, p.records_version, r.kind, r.impact, r.modes,
       r.diversions_geom is not null as has_diversion
  from feed_publications p join site_requests r on r.id = p.request_id
 where p.cancelled_at is null and p.records_version is distinct from p.version
 order by p.request_id
""")

# Set the records of a publication, unless another reader did so first (the row's records version is no longer the
# one read: the update waits for the other's row lock, then re-checks the condition).
_STORE_RECORDS = text("""
update feed_publications set records = :records, records_version = :version
 where request_id = :request_id and version = :version and cancelled_at is null
   and records_version is not distinct from :seen
""")

_DROP_RECORDS = text("""
insert into feed_dropped_records (request_id, record_id, version, dropped_at)
select :request_id, record_id, :version, clock_timestamp() from unnest(cast(:records as text[])) as record_id
on conflict (request_id, record_id) do update set version = excluded.version, dropped_at = excluded.dropped_at
""")

_DROPPED = text("""
select d.request_id, d.record_id, d.version, d.dropped_at from feed_dropped_records d
 where d.dropped_at >= :since
 order by d.request_id, d.record_id
""")


def stale_records(session: Session) -> list[Row[Any]]:
    return list(session.execute(_STALE_RECORDS))


def store_records(session: Session, request_id: uuid.UUID, version: int, records: Sequence[str],
                  seen: int | None) -> bool:
    """Record that the publication of ``request_id`` at ``version`` has the DATEX II records ``records``; False when
    another reader recorded them first (its records version is no longer ``seen``)."""
    params = {"request_id": request_id, "version": version, "records": list(records), "seen": seen}
    return (session.execute(_STORE_RECORDS, params).rowcount or 0) == 1


def drop_records(session: Session, request_id: uuid.UUID, records: Sequence[str], version: int) -> None:
    """Records a still-published site no longer has, last published in ``version``: cancelled from now."""
    if records:
        session.execute(_DROP_RECORDS, {"request_id": request_id, "records": list(records), "version": version})


def restore_records(session: Session, request_id: uuid.UUID, records: Sequence[str]) -> None:
    """Records the site has again: published, so no longer cancelled."""
    session.execute(text("delete from feed_dropped_records where request_id = :request_id "
                         "and record_id = any(cast(:records as text[]))"),
                    {"request_id": request_id, "records": list(records)})


def dropped_since(session: Session, since: datetime) -> list[Row[Any]]:
    return list(session.execute(_DROPPED, {"since": since}))


def content_token(session: Session, since: datetime, *, corridors: bool) -> str:
    """Identifies everything a feed shows: the published rows with their versions, the ended rows still listed,
    and (for GTFS-RT) the corridors. Equal tokens mean equal feed content."""
    row = session.execute(text("""
        select count(*), max(last_changed),
               md5(string_agg(request_id::text || ':' || version || ':' || coalesce(cancelled_at::text, ''), ','
                              order by request_id))
          from feed_publications where cancelled_at is null or cancelled_at >= :since
    """), {"since": since}).one()
    token = f"{row[0]}|{row[1]}|{row[2]}"
    dropped = session.execute(text("""
        select count(*), md5(string_agg(concat_ws(':', request_id, record_id, version, dropped_at), ','
                                        order by request_id, record_id))
          from feed_dropped_records where dropped_at >= :since
    """), {"since": since}).one()
    if dropped[0]:  # records dropped from still-published sites, listed as cancelled (DATEX II)
        token += f"|dropped:{dropped[0]}|{dropped[1]}"
    if corridors:
        # the rows themselves, not only updated_at: a change by direct SQL or within one transaction counts too
        crow = session.execute(text(
            "select count(*), md5(string_agg(c.id::text || ':' || md5(c::text), ',' order by c.id)) from corridors c"
        )).one()
        token += f"|{crow[0]}|{crow[1]}"
    return token


def changed_at(session: Session, since: datetime, retention: timedelta, *, corridors: bool) -> datetime | None:
    """The last change a stored time records: of a publication (published or ended), of an ended publication
    leaving the retention window (its end + ``retention``, once past ``since``) and, for GTFS-RT, of a corridor."""
    parts = ["(select max(last_changed) from feed_publications)",
             "(select max(cancelled_at) from feed_publications where cancelled_at < :since) + :retention",
             "(select max(dropped_at) from feed_dropped_records)",
             "(select max(dropped_at) from feed_dropped_records where dropped_at < :since) + :retention"]
    if corridors:
        parts.append("(select max(updated_at) from corridors)")
    return session.scalar(text(f"select greatest({', '.join(parts)})"), {"since": since, "retention": retention})


def content_state(session: Session, feed: str, variant: str) -> tuple[str, datetime] | None:
    """(content hash, modified since) last recorded for a feed, or None."""
    row = session.execute(text("select content_hash, modified_at from feed_content_state "
                               "where feed = :feed and variant = :variant"),
                          {"feed": feed, "variant": variant}).one_or_none()
    return (row[0], row[1]) if row is not None else None


# The time moves forward whenever the hash changes: to the recorded change time when that is a later second, else to
# now, and at least one second past the previous time (HTTP dates have seconds), so that If-Modified-Since never
# answers 304 for content it has not seen. A feed's first row (a new database, other settings, the first run of this
# code) starts now: clients may hold what was served before with any earlier time. A concurrent reader that recorded
# the same hash first wins (the WHERE is re-checked on the locked row).
_RECORD_CONTENT = text("""
insert into feed_content_state as s (feed, variant, content_hash, modified_at)
values (:feed, :variant, :hash, greatest(cast(:changed as timestamptz), clock_timestamp()))
on conflict (feed, variant) do update
   set content_hash = excluded.content_hash,
       modified_at = case
           when date_trunc('second', cast(:changed as timestamptz)) > date_trunc('second', s.modified_at)
           then cast(:changed as timestamptz)
           else greatest(clock_timestamp(), date_trunc('second', s.modified_at) + interval '1 second') end
 where s.content_hash is distinct from excluded.content_hash
""")


def record_content(session: Session, feed: str, variant: str, content_hash: str, changed: datetime) -> datetime:
    """Record that a feed's content is now ``content_hash`` (last change recorded in the data: ``changed``) and
    return since when it is, as stored."""
    params = {"feed": feed, "variant": variant}
    session.execute(_RECORD_CONTENT, {**params, "hash": content_hash, "changed": changed})
    return session.scalar(text("select modified_at from feed_content_state where feed = :feed and variant = :variant"),
                          params)


def corridors_near(session: Session, request_ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """Transit corridors (with routes or stops) whose geometry lies within their buffer of each site."""
    if not request_ids:
        return []
    try:
        from service.conflicts.models import Corridor
    except ImportError:  # the conflicts domain is not installed
        return []
    from service.requests.models import SiteRequest

    stmt = (
        select(SiteRequest.id.label("request_id"), Corridor.id, Corridor.name, Corridor.kind, Corridor.routes,
               Corridor.stops, func.ST_AsGeoJSON(Corridor.geom).label("geometry"))
        .join(Corridor, func.ST_DWithin(Corridor.geom_utm, SiteRequest.geom_utm, Corridor.buffer_m))
        .where(SiteRequest.id.in_(list(request_ids)))
        .where((func.jsonb_array_length(Corridor.routes) > 0) | (func.jsonb_array_length(Corridor.stops) > 0))
        .order_by(SiteRequest.id, Corridor.name)
    )
    return list(session.execute(stmt))


def try_lock(session: Session, name: str) -> bool:
    """A transaction-scoped advisory lock, so that only one worker pushes at a time."""
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtextextended(name, 0)))))


def push_state(session: Session, target: str) -> FeedPushState | None:
    return session.scalar(select(FeedPushState).where(FeedPushState.target == target).with_for_update())


def add_push_state(session: Session, state: FeedPushState) -> FeedPushState:
    session.add(state)
    session.flush()
    return state


def get_publication(session: Session, request_id: uuid.UUID) -> FeedPublication | None:
    return session.get(FeedPublication, request_id)
