"""The open data feeds: what is published, rendering with ETag / Last-Modified, and the DATEX II push.

Published are requests that are approved or active, and emergency works while they are being decided (they
are active at once); never drafts or merely submitted requests, never contact data (free text is scrubbed of
e-mail addresses and telephone numbers). Dates are the slot's where the slot is approved or locked, else the
request's window. Before a feed is built, :func:`sync` reconciles ``feed_publications`` with the requests,
so versions and cancellations are always current, whoever changed a request and however. Each feed's
``Last-Modified`` moves whenever its content does (:func:`modified_since`), and so does its content ETag; the time
inside it (DATEX II ``publicationTime``, WZDx ``update_date``, GTFS-RT ``header.timestamp``) is when the body was
generated, written anew at least every :data:`REFRESH` (:func:`render`).

Times that are bookkeeping (when a publication ended, how long it is listed as cancelled, when a feed was generated
or last changed) are real instants, from the database's clock or :func:`kit.time.wall_clock`, also when
``BAUSTELLEN_TODAY`` pins the calendar: the pinned day decides only what is published (dates, shifts).

Nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
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
    iso_z,
    license_url,
    route_ids,
    route_types,
    scrub,
    shift_boundary,
)
from service.feeds.models import FeedPushState
from service.kit.etags import if_none_match_matches
from service.kit.time import now as local_now
from service.kit.time import today, wall_clock
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
# names scrubbed from free text (common.scrub_names). 8: names before their role too ("Jens Becker, Bauleiter"). 9: WZDx
# road events per shift of day and night work (wzdx.SHIFT_HORIZON), per part of a geometry that is not one path, and
# a detour per diversion route. 10: GTFS-RT entity ids always <request id>:<effect> (gtfsrt.entity_id), street names
# with their leading adjective ("Alte Karlsruher Straße", common.road_names), the feeds' own times the generation time.
CONTENT_REVISION = 10
# The feeds' own times (DATEX II publicationTime and messageGenerationTimestamp, WZDx feed_info.update_date, GTFS-RT
# header.timestamp) are when the body was generated: a cached body gets the current time again once it is this old,
# well within WZDx's update_frequency (60 s), so that with Cache-Control max-age=60 no copy is older than 90 s.
REFRESH = timedelta(seconds=30)
# What the builders are given as the generation time: the body is cut where it stands and the real time is written
# there when the body is served (:class:`Template`). 7 s past the epoch: no time of the data looks like it.
PLACEHOLDER = datetime(1970, 1, 1, 0, 0, 7, tzinfo=UTC)


class FeedFormat(StrEnum):
    datex2 = "datex2"
    wzdx = "wzdx"
    gtfsrt = "gtfsrt"
    gtfsrt_json = "gtfsrt_json"


@dataclass(frozen=True)
class Rendered:
    """A feed as served: ``etag`` identifies its content (the same for bodies that differ only by ``generated``, the
    time written in them: weak), ``last_modified`` is when the content last changed (:func:`modified_since`)."""

    body: bytes
    media_type: str
    etag: str
    last_modified: datetime
    license_url: str
    generated: datetime

    @property
    def last_modified_http(self) -> str:
        """``Last-Modified``: when the content last changed, never after the body was generated (RFC 9110 §8.8.2.1:
        not after ``Date``). Two changes within one second record the second one a second ahead
        (``repository._RECORD_CONTENT``); until that second has come the header says the generation time, while
        :func:`not_modified` compares with the recorded time."""
        moment = min(self.last_modified, self.generated)
        return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


@dataclass(frozen=True)
class Template:
    """A built feed without its generation time: the body cut where the time goes (``parts``) and how the time is
    written there (``write``). ``etag`` is the content's: a hash of the body without the time."""

    parts: tuple[bytes, ...]
    write: Callable[[datetime], bytes]
    media_type: str
    etag: str

    def body(self, generated: datetime) -> bytes:
        return self.write(generated).join(self.parts)


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


def load_sites(session: Session, settings: Settings, *, with_corridors: bool = False) -> list[FeedSite]:
    rows = repository.published(session, today(settings))
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
        near = corridors_of(session, [s.id for s in sites])
        for site in sites:
            site.corridors = near.get(site.id, [])
    return sites


def corridors_of(session: Session, request_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Corridor]]:
    """The transit corridors (with routes or stops) within their buffer of each site, as the GTFS-RT feed reads
    them; the subscribers' notices name their lines by the same rule (``gtfsrt.affected_lines``)."""
    out: dict[uuid.UUID, list[Corridor]] = {}
    corridors: dict[str, Corridor] = {}  # one object per corridor, shared by every site on it
    for row in repository.corridors_near(session, request_ids):
        corridor = corridors.get(str(row.id))
        if corridor is None:
            corridor = corridors[str(row.id)] = Corridor(
                id=str(row.id), name=row.name, kind=row.kind, routes=route_ids(row.routes),
                stops=corridor_stops(row.stops), geometry=shape(json.loads(row.geometry)),
                route_types=route_types(row.routes))
        if corridor.routes or corridor.stops:
            out.setdefault(row.request_id, []).append(corridor)
    return out


def load_ended(session: Session, settings: Settings) -> tuple[list[EndedSite], list[datex2.Dropped]]:
    """The sites ended within :data:`ENDED_RETENTION`, and the DATEX II records no longer published besides theirs:
    those dropped from a still-published site (:func:`track_records`) and those an ended site had when last
    published that its current fields no longer give (changed and ended between two syncs)."""
    since = wall_clock(settings) - ENDED_RETENTION  # cancelled_at is the database's clock: real, never pinned
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
    change their output (:data:`CONTENT_REVISION`). Last-Modified thus moves whenever the ETag does. (The feeds'
    own times are the generation time: :func:`render`.)"""
    feed = FeedFormat.gtfsrt.value if fmt is FeedFormat.gtfsrt_json else fmt.value
    variant = "|".join([settings.feed_publisher, settings.feed_license, settings.public_url, settings.timezone])
    variant_key = hashlib.sha256(variant.encode()).hexdigest()[:16]
    digest = hashlib.sha256(f"{CONTENT_REVISION}|{token}".encode()).hexdigest()[:32]
    state = repository.content_state(session, feed, variant_key)
    if state is not None and state[0] == digest:
        return state[1]
    # None when no time is recorded at all (nothing ever published): the first record starts now (never the pinned
    # day's midnight, which may lie ahead: Last-Modified after Date)
    changed = repository.changed_at(session, since, ENDED_RETENTION, corridors=feed == FeedFormat.gtfsrt.value)
    return repository.record_content(session, feed, variant_key, digest, changed)


def _etag(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'


def _cut(body: bytes, mark: bytes, count: int) -> tuple[bytes, ...]:
    """``body`` cut at the ``count`` places where the builder wrote :data:`PLACEHOLDER` as ``mark``."""
    parts = tuple(body.split(mark))
    if len(parts) != count + 1:
        raise RuntimeError(f"the feed's time placeholder {mark!r} occurs {len(parts) - 1} times, not {count}")
    return parts


def _text_template(body: bytes, media_type: str, count: int) -> Template:
    """A feed that writes its time as RFC 3339 UTC (DATEX II twice: ``publicationTime`` and
    ``messageGenerationTimestamp``; WZDx once: ``feed_info.update_date``)."""
    return Template(parts=_cut(body, iso_z(PLACEHOLDER).encode(), count),
                    write=lambda moment: iso_z(moment).encode(), media_type=media_type, etag=_etag(body))


def _json_timestamp(moment: datetime) -> bytes:
    return f'"timestamp": "{int(moment.timestamp())}"'.encode()  # uint64 is a string in protobuf's JSON


@dataclass
class _Entry:
    """A cached feed: its template and the body last served, with the time written in it."""

    template: Template
    modified: datetime
    license_url: str
    served: Rendered | None = None

    def rendered(self, now: datetime) -> Rendered:
        """The body with a generation time at most :data:`REFRESH` old (and not before the content's
        Last-Modified, once that has come): the cached one, else the template written with ``now`` (one copy of
        the bytes, no rebuild). Called under ``_CACHE_LOCK``."""
        moment = now.astimezone(UTC).replace(microsecond=0)
        served = self.served
        if (served is None or moment - served.generated >= REFRESH or moment < served.generated
                or served.generated < min(self.modified.replace(microsecond=0), moment)):
            served = self.served = Rendered(
                body=self.template.body(moment), media_type=self.template.media_type, etag=self.template.etag,
                last_modified=self.modified, license_url=self.license_url, generated=moment)
        return served


_CACHE: OrderedDict[tuple, _Entry] = OrderedDict()
_CACHE_SIZE = 16
_CACHE_LOCK = threading.Lock()


def render(session: Session, settings: Settings, fmt: FeedFormat) -> Rendered:
    """Sync, then build one feed. The content depends on the data only, so the ETag (a hash of the body without
    its generation time: weak, W/"…") is the same as long as nothing published changed, and Last-Modified is when it
    last did. Built feeds are kept in a small in-process cache keyed by a token of everything they show
    (:func:`repository.content_token`) and the time it changed, so unchanged feeds are not rebuilt: only the
    generation time is written into the cached body again, at most every :data:`REFRESH` (:class:`_Entry`).

    GTFS-RT and WZDx list the shifts of day and night work still to come (``gtfsrt.SHIFT_HORIZON``,
    ``wzdx.SHIFT_HORIZON``), which changes when a shift ends: their reference time is the last shift boundary (07:00
    or 20:00, :func:`common.shift_boundary`), part of their token, so their content, ETag and Last-Modified move on
    there (twice a day, whether or not day or night work is published) and stay the same in between."""
    sync(session, settings)
    now = local_now(settings)  # the calendar (possibly pinned): which shifts are over
    since = wall_clock(settings) - ENDED_RETENTION  # bookkeeping times are real: cancelled_at, dropped_at
    transit = fmt in (FeedFormat.gtfsrt, FeedFormat.gtfsrt_json)
    token = repository.content_token(session, since, corridors=transit)
    # GTFS-RT and WZDx list the shifts of day and night work from the last shift boundary
    reference = shift_boundary(now, settings.timezone) if transit or fmt is FeedFormat.wzdx else None
    if reference is not None:
        token += f"|{reference.isoformat()}"
    updated = modified_since(session, settings, fmt, token, since)
    key = (fmt, settings.database_url, settings.feed_publisher, settings.feed_license, settings.public_url,
           settings.timezone, today(settings), token, updated)
    with _CACHE_LOCK:
        entry = _CACHE.get(key)
        if entry is not None:
            _CACHE.move_to_end(key)
            return entry.rendered(wall_clock(settings))
    entry = _Entry(_build(session, settings, fmt, reference), updated, license_url(settings.feed_license))
    with _CACHE_LOCK:
        entry = _CACHE.setdefault(key, entry)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return entry.rendered(wall_clock(settings))


def _build(session: Session, settings: Settings, fmt: FeedFormat, reference: datetime | None = None) -> Template:
    """The feed as a :class:`Template`: built with :data:`PLACEHOLDER` as its time, cut where it stands."""
    meta = feed_meta(settings, PLACEHOLDER, reference)
    if fmt is FeedFormat.datex2:
        ended, dropped = load_ended(session, settings)
        sites = load_sites(session, settings)
        return _text_template(datex2.build(sites, ended, meta, dropped), datex2.MEDIA_TYPE, 2)
    if fmt is FeedFormat.wzdx:
        routes = {row.id: shape(json.loads(row.geometry)) for row in repository.diversions(session)}
        body = json.dumps(wzdx.build(load_sites(session, settings), meta, routes), ensure_ascii=False,
                          separators=(",", ":"))
        return _text_template(body.encode(), wzdx.MEDIA_TYPE, 1)
    feed = gtfsrt.build(load_sites(session, settings, with_corridors=True), meta)
    if fmt is FeedFormat.gtfsrt_json:
        body = gtfsrt.to_json(feed)
        return Template(parts=_cut(body, _json_timestamp(PLACEHOLDER), 1), write=_json_timestamp,
                        media_type="application/json", etag=_etag(body))
    # the header is the message's first field: its bytes, then the alerts' (gtfsrt.header_bytes)
    return Template(parts=(b"", gtfsrt.entity_bytes(feed)),
                    write=lambda moment: gtfsrt.header_bytes(feed, int(moment.timestamp())),
                    media_type=gtfsrt.MEDIA_TYPE, etag=_etag(gtfsrt.to_bytes(feed)))


def not_modified(rendered: Rendered, *, if_none_match: str | None, if_modified_since: str | None,
                 now: datetime | None = None) -> bool:
    """RFC 9110 conditional GET: If-None-Match (weak comparison) wins over If-Modified-Since. An If-Modified-Since
    later than the server's current time (``now``, at least the body's generation time) is ignored (§13.1.3): the
    client's clock says nothing about our content."""
    if if_none_match is not None:
        return if_none_match_matches(if_none_match, rendered.etag)
    if if_modified_since:
        from email.utils import parsedate_to_datetime

        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None or since > max(now or datetime.now(UTC), rendered.generated):
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
