"""The open data feeds: what is published, rendering with ETag / Last-Modified, and the DATEX II push.

Published are requests that are approved or active, and emergency works while they are being decided (they
are active at once); never drafts or merely submitted requests, never contact data (free text is scrubbed of
e-mail addresses and telephone numbers). Dates are the slot's where the slot is approved or locked, else the
request's window. Before a feed is built, :func:`sync` reconciles ``feed_publications`` with the requests,
so versions and cancellations are always current, whoever changed a request and however. Each feed's
``Last-Modified`` (and the time inside it) moves whenever its content does (:func:`modified_since`).

Nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from enum import StrEnum

import httpx
from shapely.geometry import shape
from sqlalchemy.orm import Session

from service.feeds import datex2, gtfsrt, repository, wzdx
from service.feeds.common import (
    SHIFT_HOURS,
    Corridor,
    EndedSite,
    FeedMeta,
    FeedSite,
    corridor_stops,
    license_url,
    route_ids,
    route_types,
    scrub,
    shift_boundary,
    start_instant,
)
from service.feeds.models import FeedPushState
from service.kit.time import now as local_now
from service.kit.time import today
from service.settings import Settings

log = logging.getLogger("baustellen.feeds")

ENDED_RETENTION = timedelta(days=7)  # cancelled / closed records stay in DATEX II informationManagement
PUSH_TARGET = "datex2"
PUSH_BASE_DELAY_S = 30.0
PUSH_MAX_DELAY_S = 3600.0
# What the builders write for the same data. The content token sees the data only, so a change of the builders'
# output is recorded by bumping this: every feed's content counts as changed once, and its Last-Modified moves past
# what clients hold from older code (else If-Modified-Since would answer 304 for the old bytes). 2: no road rerouting
# record for works on the track only, GTFS-RT texts worded per mode. 3: the impact on vehicles follows the modes
# (a footway, cycle lane or bus lane closure is no road closure), trams and trains never DETOUR, the set-up time as
# WZDx start_date of active sites, descriptions joined as sentences. 4: the set-up time as DATEX II overallStartTime
# and GTFS-RT active_period start of active sites too (common.site_start). 5: the hours of day and night work as a
# DATEX II validPeriod and in its public comment, night work ending at 07:00 after its last day in all three feeds
# (common.site_end). 6: GTFS-RT alerts of day and night work with one active_period per shift (the next
# gtfsrt.SHIFT_HORIZON from the last shift boundary) and the hours in their description. 7: personal
# names scrubbed from free text (common.scrub_names). 8: names before their role too ("Jens Becker, Bauleiter").
CONTENT_REVISION = 8


class FeedFormat(StrEnum):
    datex2 = "datex2"
    wzdx = "wzdx"
    gtfsrt = "gtfsrt"
    gtfsrt_json = "gtfsrt_json"


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    last_modified: datetime
    license_url: str

    @property
    def last_modified_http(self) -> str:
        return format_datetime(self.last_modified.astimezone(UTC).replace(microsecond=0), usegmt=True)


def sync(session: Session, settings: Settings) -> int:
    """Bring ``feed_publications`` up to date with the requests, and the DATEX II records they published
    (:func:`track_records`); returns the number of changed rows. Night work stays published until its last night
    ends, at 07:00 the morning after its last day (``SHIFT_HOURS``)."""
    day = today(settings)
    changed = repository.sync(session, day, running_night(day, local_now(settings).time()))
    track_records(session)
    return changed


def track_records(session: Session) -> int:
    """Record the DATEX II situation records of every publication whose version is new to this bookkeeping
    (``datex2.site_records``), and the records a still-published site had at its previous version and has no more:
    a full closure that becomes a footway restriction drops ``{id}_closure``, a diversion given up
    ``{id}_rerouting``. Those are kept in ``feed_dropped_records`` and listed as cancelled for
    :data:`ENDED_RETENTION`, as the records of a withdrawn site are; a record the site has again is taken off that
    list. A publication whose records were not known before (a row from before migration 0022) drops nothing.
    Returns the number of publications whose records were recorded."""
    done = 0
    for row in repository.stale_records(session):
        records = datex2.site_records(str(row.request_id), row.kind, row.impact, list(row.modes or []),
                                      row.has_diversion)
        if not repository.store_records(session, row.request_id, row.version, records, row.records_version):
            continue  # another reader recorded them first, and what was dropped with them
        done += 1
        if row.records is None:
            continue
        gone = [record_id for record_id in row.records if record_id not in records]
        repository.drop_records(session, row.request_id, gone, row.records_version)
        if set(records) - set(row.records):
            repository.restore_records(session, row.request_id, records)
    return done


def running_night(day: date, clock: time) -> date:
    """The day whose night work is running or still ahead at ``clock`` on ``day``: the day before until the night
    shift ends in the morning (07:00), ``day`` itself from then on."""
    return day - timedelta(days=1) if clock < SHIFT_HOURS["night"][1] else day


def load_sites(session: Session, *, with_corridors: bool = False) -> list[FeedSite]:
    rows = repository.published(session)
    sites = [
        FeedSite(
            id=row.id, title=scrub(row.title), description=scrub(row.description), kind=row.kind,
            impact=row.impact, modes=list(row.modes or []), shift=row.shift, urgency=row.urgency,
            status=row.status, owner_id=row.owner_id, owner_name=row.owner_name,
            geometry=shape(json.loads(row.geometry)), has_diversion=row.has_diversion,
            has_replacement=row.has_replacement, start=row.start_date, end=row.end_date,
            from_slot=row.from_slot, version=row.version, first_published=row.first_published,
            last_changed=row.last_changed, activated_at=row.activated_at,
        )
        for row in rows
    ]
    if with_corridors and sites:
        by_id = {s.id: s for s in sites}
        corridors: dict[str, Corridor] = {}  # one object per corridor, shared by every site on it
        for row in repository.corridors_near(session, list(by_id)):
            corridor = corridors.get(str(row.id))
            if corridor is None:
                corridor = corridors[str(row.id)] = Corridor(
                    id=str(row.id), name=row.name, kind=row.kind, routes=route_ids(row.routes),
                    stops=corridor_stops(row.stops), geometry=shape(json.loads(row.geometry)),
                    route_types=route_types(row.routes))
            if corridor.routes or corridor.stops:
                by_id[row.request_id].corridors.append(corridor)
    return sites


def load_ended(session: Session, settings: Settings) -> tuple[list[EndedSite], list[datex2.Dropped]]:
    """The sites ended within :data:`ENDED_RETENTION`, and the DATEX II records no longer published besides theirs:
    those dropped from a still-published site (:func:`track_records`) and those an ended site had when last
    published that its current fields no longer give (changed and ended between two syncs)."""
    since = local_now(settings) - ENDED_RETENTION
    ended, dropped = [], []
    for row in repository.ended_since(session, since):
        gone = EndedSite(id=row.id, impact=row.impact, kind=row.kind, has_diversion=row.has_diversion,
                         version=row.version, ended_at=row.cancelled_at, reason=row.end_reason,
                         modes=list(row.modes or []))
        ended.append(gone)
        named = set(datex2.record_ids(str(gone.id), gone.vehicle_impact, gone.road_diversion))
        dropped += [datex2.Dropped(record_id, gone.version, gone.reason)
                    for record_id in row.records or [] if record_id not in named]
    dropped += [datex2.Dropped(row.record_id, row.version) for row in repository.dropped_since(session, since)]
    return ended, dropped


def feed_meta(settings: Settings, updated: datetime, reference: datetime | None = None) -> FeedMeta:
    return FeedMeta(
        publisher=settings.feed_publisher, license=settings.feed_license,
        license_url=license_url(settings.feed_license), public_url=settings.public_url,
        timezone=settings.timezone, updated=updated, reference=reference,
    )


def modified_since(session: Session, settings: Settings, fmt: FeedFormat, token: str, since: datetime) -> datetime:
    """Since when the content of a feed is what ``token`` (:func:`repository.content_token`) identifies.

    The data's own times (publication changes, ended publications leaving the retention window, corridor
    changes) do not record everything that changes a feed (a corridor deleted, a change within the same second,
    other settings), so the content hash is recorded per feed and settings, and the time moves forward whenever
    it changes (``repository._RECORD_CONTENT``; the first record starts now), as it does once when the builders
    change their output (:data:`CONTENT_REVISION`). Last-Modified thus moves whenever the ETag does, and the feeds'
    own times (DATEX II ``publicationTime``, WZDx ``update_date``, GTFS-RT
    ``header.timestamp``) with it."""
    feed = FeedFormat.gtfsrt.value if fmt is FeedFormat.gtfsrt_json else fmt.value
    variant = "|".join([settings.feed_publisher, settings.feed_license, settings.public_url, settings.timezone])
    variant_key = hashlib.sha256(variant.encode()).hexdigest()[:16]
    digest = hashlib.sha256(f"{CONTENT_REVISION}|{token}".encode()).hexdigest()[:32]
    state = repository.content_state(session, feed, variant_key)
    if state is not None and state[0] == digest:
        return state[1]
    changed = repository.changed_at(session, since, ENDED_RETENTION, corridors=feed == FeedFormat.gtfsrt.value)
    changed = changed or start_instant(today(settings), settings.timezone)
    return repository.record_content(session, feed, variant_key, digest, changed)


def _rendered(body: bytes, media_type: str, meta: FeedMeta) -> Rendered:
    digest = hashlib.sha256(body).hexdigest()[:32]
    return Rendered(body=body, media_type=media_type, etag=f'W/"{digest}"', last_modified=meta.updated,
                    license_url=meta.license_url)


_CACHE: OrderedDict[tuple, Rendered] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def render(session: Session, settings: Settings, fmt: FeedFormat) -> Rendered:
    """Sync, then build one feed. The bytes depend on the data only (times are data times), so the ETag is
    the same as long as nothing published changed. Built feeds are kept in a small in-process cache keyed by
    a token of everything they show (:func:`repository.content_token`) and the time it changed, so unchanged feeds
    are not rebuilt.

    GTFS-RT lists the shifts of day and night work still to come (``gtfsrt.SHIFT_HORIZON``), which changes when a
    shift ends: its reference time is the last shift boundary (07:00 or 20:00, :func:`common.shift_boundary`), part
    of its token, so its content, ETag, Last-Modified and ``header.timestamp`` move on there (twice a day, whether
    or not day or night work is published) and stay the same in between."""
    sync(session, settings)
    now = local_now(settings)
    since = now - ENDED_RETENTION
    transit = fmt in (FeedFormat.gtfsrt, FeedFormat.gtfsrt_json)
    token = repository.content_token(session, since, corridors=transit)
    reference = shift_boundary(now, settings.timezone) if transit else None
    if reference is not None:
        token += f"|{reference.isoformat()}"
    updated = modified_since(session, settings, fmt, token, since)
    key = (fmt, settings.database_url, settings.feed_publisher, settings.feed_license, settings.public_url,
           settings.timezone, today(settings), token, updated)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    rendered = _build(session, settings, fmt, updated, reference)
    with _CACHE_LOCK:
        _CACHE[key] = rendered
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return rendered


def _build(session: Session, settings: Settings, fmt: FeedFormat, updated: datetime,
           reference: datetime | None = None) -> Rendered:
    meta = feed_meta(settings, updated, reference)
    if fmt is FeedFormat.datex2:
        ended, dropped = load_ended(session, settings)
        return _rendered(datex2.build(load_sites(session), ended, meta, dropped), datex2.MEDIA_TYPE, meta)
    if fmt is FeedFormat.wzdx:
        body = json.dumps(wzdx.build(load_sites(session), meta), ensure_ascii=False, separators=(",", ":"))
        return _rendered(body.encode(), wzdx.MEDIA_TYPE, meta)
    feed = gtfsrt.build(load_sites(session, with_corridors=True), meta)
    if fmt is FeedFormat.gtfsrt_json:
        return _rendered(gtfsrt.to_json(feed), "application/json", meta)
    return _rendered(gtfsrt.to_bytes(feed), gtfsrt.MEDIA_TYPE, meta)


def _etag_values(header: str) -> list[str]:
    return [v.strip().removeprefix("W/") for v in header.split(",") if v.strip()]


def not_modified(rendered: Rendered, *, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110 conditional GET: If-None-Match (weak comparison) wins over If-Modified-Since."""
    if if_none_match is not None:
        values = _etag_values(if_none_match)
        return "*" in values or rendered.etag.removeprefix("W/") in values
    if if_modified_since:
        from email.utils import parsedate_to_datetime

        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return rendered.last_modified.replace(microsecond=0) <= since
    return False


# --- DATEX II push --------------------------------------------------------------------------------------


def backoff(attempts: int, base: float = PUSH_BASE_DELAY_S, cap: float = PUSH_MAX_DELAY_S) -> timedelta:
    """Exponential backoff after ``attempts`` failed deliveries: base, 2·base, 4·base, … up to ``cap``."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def push_datex(
    session: Session, settings: Settings, *, client: httpx.Client, now: datetime | None = None,
    base_delay: float = PUSH_BASE_DELAY_S, max_delay: float = PUSH_MAX_DELAY_S,
) -> str:
    """POST the DATEX II publication to ``settings.datex_push_url`` when it changed since the last successful
    delivery. A failure (network error or non-2xx) is retried on a later run after an exponential backoff.

    Returns what happened: ``disabled``, ``busy`` (another worker pushes), ``unchanged``, ``waiting`` (backoff),
    ``delivered`` or ``failed``."""
    url = settings.datex_push_url
    if not url:
        return "disabled"
    if not repository.try_lock(session, f"feeds.push.{PUSH_TARGET}"):
        return "busy"
    now = now or datetime.now(UTC)
    rendered = render(session, settings, FeedFormat.datex2)
    digest = rendered.etag.removeprefix("W/").strip('"')
    state = repository.push_state(session, PUSH_TARGET)
    if state is None:
        state = repository.add_push_state(session, FeedPushState(target=PUSH_TARGET, url=url, attempts=0))
    if state.url != url:  # a new receiver gets everything anew
        state.url, state.delivered_hash, state.attempts, state.next_attempt_at = url, None, 0, None
    if state.delivered_hash == digest:
        return "unchanged"
    if state.next_attempt_at is not None and now < state.next_attempt_at:
        return "waiting"
    try:
        response = client.post(url, content=rendered.body, headers={
            "Content-Type": f"{rendered.media_type}; charset=utf-8", "ETag": rendered.etag,
            "Link": f'<{rendered.license_url}>; rel="license"', "Idempotency-Key": digest,
        })
        status, error = response.status_code, None if response.is_success else response.text[:500]
    except httpx.HTTPError as exc:
        status, error = None, f"{type(exc).__name__}: {exc}"[:500]
    state.last_status = status
    if error is None:
        state.delivered_hash, state.delivered_at = digest, now
        state.attempts, state.next_attempt_at, state.last_error = 0, None, None
        session.flush()
        log.info("DATEX II publication delivered to %s (%s)", url, status)
        return "delivered"
    state.attempts += 1
    state.next_attempt_at = now + backoff(state.attempts, base_delay, max_delay)
    state.last_error = error
    session.flush()
    log.warning("DATEX II push to %s failed (attempt %d, next %s): %s", url, state.attempts,
                state.next_attempt_at.isoformat(), error)
    return "failed"


def publication_of(session: Session, request_id: uuid.UUID) -> dict[str, object] | None:
    """What the feeds say about one request (for debugging and tests)."""
    pub = repository.get_publication(session, request_id)
    if pub is None:
        return None
    return {"version": pub.version, "first_published": pub.first_published, "last_changed": pub.last_changed,
            "cancelled_at": pub.cancelled_at, "end_reason": pub.end_reason}
