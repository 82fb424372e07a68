"""All SQL of the notices domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased, selectinload

from service.events.models import Event
from service.notices import render
from service.notices.models import Attempt, Delivery, EventLog, Notice, Subscription, WebhookEndpoint

# Normalised street text, the same in SQL as in service.normalise_street: lower case, "straße"/"strasse"/
# "str." → "str", no spaces, hyphens or dots.
_NORM_SQL = (
    "replace(replace(replace(replace(replace(replace(lower({x}), 'straße', 'str'), 'strasse', 'str'), "
    "'.', ''), ' ', ''), '-', ''), chr(160), '')"
)
SITE_TEXT = _NORM_SQL.format(x="r.title || ' ' || r.description")
IMPACT_RANK_SQL = (
    "CASE r.impact WHEN 'none' THEN 0 WHEN 'footway' THEN 1 WHEN 'lane_reduction' THEN 2 "
    "WHEN 'one_way' THEN 3 WHEN 'full_closure' THEN 4 ELSE 0 END"
)
# A request's modes as a subscription filter sees them: the modes it names, plus the transit modes whose service the
# works touch by exactly the rule of the GTFS-RT feed (``service.feeds.gtfsrt.transit_modes`` with
# ``service.feeds.common.in_road`` and ``vehicle_impact``; tests/notices/test_mode_parity.py compares the two for
# every kind, impact and set of modes), plus ``transit`` when trams or buses are touched. So a bus operator hears of
# a full road closure for cars and cycles (its buses detour), not of a closed footway or cycle lane (its buses drive
# on) nor of tram-only track works; ``transit`` named on works in the road reaches tram and bus subscribers, on
# track works off the road only tram subscribers (there it means the trams).
#
# Works are in the road when the SQL function ``works_in_road`` (migration 0015, the twin of
# ``service.geo.rules.in_road``; an inlined expression) says so.
IN_ROAD_SQL = "works_in_road(r.kind, r.modes)"
# The impact of works in the road on the vehicles on the road (``service.feeds.common.vehicle_impact``) reaches the
# carriageway (lane reduction, one-way, full closure): their impact does, and they name more than the traffic with
# a part of the street of its own (``pedestrian``, ``cycle``, ``bus``: a closed footway, cycle lane or bus lane
# leaves the vehicle lanes open) or nothing at all.
_CARRIAGEWAY_SQL = (
    "(r.impact IN ('lane_reduction', 'one_way', 'full_closure')"
    " AND NOT (cardinality(r.modes) > 0 AND r.modes <@ ARRAY['pedestrian', 'cycle', 'bus']::varchar[]))"
)
# Works in the road touch trams when they name ``tram`` or ``transit``, are ``tram_track`` works or name no modes;
# buses when they name ``bus`` or ``transit``, or name none of ``tram``, ``bus``, ``transit`` and reach the
# carriageway (so not works closing only the footway or the cycle lane). Trains: named ``rail``, or ``rail`` works.
# ``transit`` is the union of the tram and bus conditions.
_ROAD_MODES_SQL = (
    "ARRAY["
    "CASE WHEN r.modes && ARRAY['tram', 'transit']::varchar[] OR r.kind = 'tram_track'"
    " OR cardinality(r.modes) = 0 THEN 'tram' END, "
    "CASE WHEN r.modes && ARRAY['bus', 'transit']::varchar[] OR (NOT r.modes && ARRAY['tram', 'bus', 'transit']"
    f"::varchar[] AND {_CARRIAGEWAY_SQL}) THEN 'bus' END, "
    "CASE WHEN r.modes && ARRAY['rail']::varchar[] OR r.kind = 'rail' THEN 'rail' END, "
    "CASE WHEN r.modes && ARRAY['tram', 'bus', 'transit']::varchar[] OR r.kind = 'tram_track'"
    f" OR cardinality(r.modes) = 0 OR {_CARRIAGEWAY_SQL} THEN 'transit' END]::varchar[]"
)
# Works off the road (on a track) touch trams when they name ``tram`` or ``transit`` (the trams, as it always
# meant there) or are ``tram_track`` works; buses only when they name ``bus``; trains as above.
_TRACK_MODES_SQL = (
    "ARRAY["
    "CASE WHEN r.modes && ARRAY['tram', 'transit']::varchar[] OR r.kind = 'tram_track' THEN 'tram' END, "
    "CASE WHEN r.modes && ARRAY['bus']::varchar[] THEN 'bus' END, "
    "CASE WHEN r.modes && ARRAY['rail']::varchar[] OR r.kind = 'rail' THEN 'rail' END, "
    "CASE WHEN r.modes && ARRAY['tram', 'bus', 'transit']::varchar[] OR r.kind = 'tram_track'"
    " THEN 'transit' END]::varchar[]"
)
# One expression (no subquery): it is evaluated for every subscription whose area the GiST index finds.
MODES_SQL = (
    f"(r.modes || array_remove(CASE WHEN {IN_ROAD_SQL} THEN {_ROAD_MODES_SQL} ELSE {_TRACK_MODES_SQL} END,"
    " NULL))"
)
# A site matches a subscription when its footprint or a diversion intersects the area (both in EPSG:25832,
# GiST-indexed on subscriptions.area_utm) and the filters let it through: every one of these parts holds.
MATCH_PARTS = {
    "area": "(ST_Intersects(s.area_utm, r.geom_utm)"
            " OR (r.diversions_utm IS NOT NULL AND ST_Intersects(s.area_utm, r.diversions_utm)))",
    "kinds": "(cardinality(s.kinds) = 0 OR r.kind = ANY(s.kinds))",
    "impact": f"s.min_impact_rank <= {IMPACT_RANK_SQL}",
    "modes": f"(cardinality(s.modes) = 0 OR s.modes && {MODES_SQL})",
    "street": f"(s.street_norm IS NULL OR strpos({SITE_TEXT}, s.street_norm) > 0)",
}
MATCH_SQL = "\n    AND ".join(MATCH_PARTS.values())

# The outbox events that become notices (the job-made lead-time notices are no events). The latest of them is
# what a site's calendar entry is headed with (``last_notice``).
NOTICE_EVENT_KINDS = sorted(k for k in render.HEADLINES if not k.startswith("lead_time"))
# Appended to ``last_notice`` in SQL when that notice is a ``slot.displaced`` without previous dates (a request
# left unplaced got a slot when its blocker gave its own back, ``slots.service.place_unblocked``): the site then
# carries ``first_dates`` and its calendar entry is headed "vorläufig festgelegt", not "verschoben".
FIRST_DATES_MARK = "+first"

# Where a site stands in time: its slot when one is proposed, locked or approved; else its preferred
# dates; else its whole window. ``dates`` says how binding that is: ``slot`` only for an approved slot (the
# dates are set; an emergency has one from the day it is reported), ``proposed`` for a proposed or locked
# slot (a coordinator's lock keeps the planner off it, but the site is not approved: provisional),
# ``preferred`` for the owner's wish, ``window`` when nothing narrower is known. ``{s}``: the slot's alias.
_SITE_DATES = """
    CASE WHEN {s}.start IS NOT NULL AND {s}.status IN ('approved', 'locked', 'proposed') THEN {s}.start
         WHEN r.preferred_start IS NOT NULL AND {s}.status IS DISTINCT FROM 'open' THEN r.preferred_start
         ELSE r.earliest_start END AS start_date,
    CASE WHEN {s}.start IS NOT NULL AND {s}.status IN ('approved', 'locked', 'proposed') THEN {s}."end"
         WHEN r.preferred_start IS NOT NULL AND {s}.status IS DISTINCT FROM 'open'
         THEN r.preferred_start + (r.duration_days - 1)
         ELSE r.latest_end END AS end_date,
    CASE WHEN {s}.start IS NOT NULL AND {s}.status = 'approved' THEN 'slot'
         WHEN {s}.start IS NOT NULL AND {s}.status IN ('proposed', 'locked') THEN 'proposed'
         WHEN r.preferred_start IS NOT NULL AND {s}.status IS DISTINCT FROM 'open' THEN 'preferred'
         ELSE 'window' END AS dates
"""
# A site an emergency left without a slot (``workflow.service._displace``: its slot ``unplaced``, explained by the
# emergency, ``displaced_by``): its status reads ``open``, and its dates are its window, never its preferred dates
# (which the emergency holds, or which lie behind it): a notice says "noch offen, ein neuer Termin folgt"
# (``render.left_without_slot``) and the calendar spans the window. ``{s}``: the slot row's alias.
_OPEN_SQL = (
    "({s}.status = 'unplaced' AND {s}.start IS NULL"
    " AND jsonb_exists(coalesce({s}.explanation, '{{}}'::jsonb), 'displaced_by'))"
)
# A slot whose approval was revoked (``approval.revoked``: the workflow leaves its dates in the slot, as a proposal
# for the coordination office): the request is submitted again, the slot proposed, neither placed anew (the
# incremental placement's slots are ``provisional``) nor proposed, locked, displaced or approved since (the
# latest of the request's events that set its slot is the revocation). Its dates are void: a notice gives them
# only as "Bisher genehmigt", never as the site's dates ("noch offen, ein neuer Termin folgt"), so the site's
# dates are those it would have without a slot (preferred dates or window). ``{s}``: the slot row's alias.
SLOT_EVENT_KINDS = ("approval.revoked", "slot.proposed", "slot.locked", "slot.unlocked", "slot.displaced",
                    "slot.unplaced", "request.approved", "request.deemed_approved", "change.approved",
                    "request.created", "request.submitted", "request.updated")
_REVOKED_LAST_SQL = (
    "(SELECT e.kind FROM events e WHERE e.request_id = r.id AND e.kind IN ("
    + ", ".join(f"'{k}'" for k in SLOT_EVENT_KINDS) + ") ORDER BY e.id DESC LIMIT 1) = 'approval.revoked'"
)
_VOID_SQL = (
    "({s}.status = 'proposed' AND NOT coalesce({s}.provisional, false) AND r.status = 'submitted'"
    " AND " + _REVOKED_LAST_SQL + ")"
)
# The same for the slot a withdrawal or rejection deleted (``h``: that row of the history, whose ``before`` holds
# the slot and the request's status as they were): void when the site was withdrawn or rejected after its approval
# was revoked and before new dates were proposed. Withdrawn and rejected are final, and neither sets the slot by an
# event of ``SLOT_EVENT_KINDS``: the latest such event is still the revocation. (A revoked slot is never
# provisional, and only a provisional one is placed anew without such an event, so the history, which does not
# hold ``provisional``, need not.) Its cancellation then gives the dates the site has without a slot, as its
# subscribers were last told ("noch offen"), never the revoked ones as if they held.
_VOID_CANCELLED_SQL = (
    "(h.before -> 'slot' ->> 'status' = 'proposed' AND h.before ->> 'status' = 'submitted'"
    " AND " + _REVOKED_LAST_SQL + ")"
)
# The slot row as the site's dates read it (``sv``): a void slot (``_VOID_SQL``) counts as none.
_CURRENT_SLOT_SQL = """
    LEFT JOIN slots sl ON sl.request_id = r.id
    LEFT JOIN LATERAL (
        SELECT sl.start, sl."end", CASE WHEN {void} THEN 'void' WHEN {open} THEN 'open' ELSE sl.status END AS status
    ) sv ON true
""".replace("{void}", _VOID_SQL.format(s="sl")).replace("{open}", _OPEN_SQL.format(s="sl"))
SITE_DATES_SQL = _SITE_DATES.format(s="sv")
# Whether the latest approved change after approval gave the works another footprint (its history row, which holds
# the fields that changed, has the geometry): the notices name the new area also when the dates changed with it.
_CHANGED_AREA_SQL = (
    "coalesce((SELECT jsonb_exists(h.after, 'geometry') FROM request_history h"
    " WHERE h.request_id = r.id AND h.action = 'change.approved' ORDER BY h.seq DESC LIMIT 1), false)"
)
# The slot a site's dates come from (``_SITE_DATES`` over ``sd``): its slot row; for a withdrawn or rejected site,
# whose slot the cancellation deleted, the slot it had then (the ``before`` of the withdraw/reject row of its
# history, or of the ``cancel`` of an emergency, which holds every change of the slot): the dates its subscribers
# were last told, approved or provisional as they were, not the owner's wish ("Wunschtermin, noch nicht
# festgelegt") of before. A slot whose
# approval had been revoked is void then too (``_VOID_CANCELLED_SQL``): a withdrawal does not bring its dates back.
_SLOT_OR_CANCELLED_SQL = """
    LEFT JOIN slots sl ON sl.request_id = r.id
    LEFT JOIN LATERAL (
        SELECT sl.start, sl."end", CASE WHEN {void} THEN 'void' WHEN {open} THEN 'open' ELSE sl.status END AS status
        WHERE sl.request_id IS NOT NULL
        UNION ALL
        (SELECT (h.before -> 'slot' ->> 'start')::date, (h.before -> 'slot' ->> 'end')::date,
                CASE WHEN {void_cancelled} THEN 'void' ELSE h.before -> 'slot' ->> 'status' END
         FROM request_history h
         WHERE sl.request_id IS NULL AND r.status IN ('withdrawn', 'rejected')
           AND h.request_id = r.id AND h.action IN ('withdraw', 'reject', 'cancel')
         ORDER BY h.seq DESC LIMIT 1)
    ) sd ON true
""".replace("{void}", _VOID_SQL.format(s="sl")).replace("{void_cancelled}", _VOID_CANCELLED_SQL).replace(
    "{open}", _OPEN_SQL.format(s="sl"))


# --- subscriptions ------------------------------------------------------------------------------


def add(session: Session, obj: Any) -> Any:
    session.add(obj)
    session.flush()
    return obj


def _with_hooks(stmt):  # noqa: ANN001, ANN202
    return stmt.options(selectinload(Subscription.webhooks))


# A subscription deleted while the worker held some of its rows (``mark_deleted``): gone for every reader, its row
# waits for ``purge_deleted``.
DELETED = "deleted"


def get(session: Session, sub_id: uuid.UUID) -> Subscription | None:
    return session.scalar(_with_hooks(select(Subscription).where(Subscription.id == sub_id,
                                                                 Subscription.status != DELETED)))


def get_by_token(session: Session, token: str) -> Subscription | None:
    return session.scalar(_with_hooks(select(Subscription).where(Subscription.token == token,
                                                                 Subscription.status != DELETED)))


def get_by_confirm_token(session: Session, token: str) -> Subscription | None:
    return session.scalar(select(Subscription).where(Subscription.confirm_token == token,
                                                     Subscription.status != DELETED).with_for_update())


def list_for_org(session: Session, org_id: uuid.UUID) -> list[Subscription]:
    return list(session.scalars(_with_hooks(
        select(Subscription).where(Subscription.organisation_id == org_id, Subscription.status != DELETED)
        .order_by(Subscription.created_at)
    )))


def subscription_status(session: Session, sub_id: uuid.UUID) -> str | None:
    """The subscription's status as committed now (a column query: never the session's copy), None when gone."""
    return session.scalar(select(Subscription.status).where(Subscription.id == sub_id))


# How long deleting a subscription at once may wait for a row another transaction holds (the worker holds the
# deliveries it is sending until its chunk is done): far below PostgreSQL's deadlock_timeout (1 s), so a lock
# cycle with the worker ends here, on the side that can step back, and never aborts the worker.
REMOVE_LOCK_TIMEOUT_MS = 200
_BUSY_SQLSTATES = ("55P03", "40P01")  # lock_not_available (the timeout), deadlock_detected


def remove_now(session: Session, sub_id: uuid.UUID, *, lock_timeout_ms: int = REMOVE_LOCK_TIMEOUT_MS) -> bool | None:
    """Delete a subscription and (by cascade) its endpoints, notices, deliveries and attempts, unless that
    would wait longer than ``lock_timeout_ms`` for a row lock: then nothing is deleted (a savepoint rolls back)
    and the answer is None. True when deleted, False when there was no such row."""
    previous = session.scalar(text("SELECT current_setting('lock_timeout')"))
    try:
        with session.begin_nested():
            session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": f"{lock_timeout_ms}ms"})
            return bool(session.execute(delete(Subscription).where(Subscription.id == sub_id)).rowcount)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) not in _BUSY_SQLSTATES:
            raise
        return None
    finally:
        session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": previous})


def mark_deleted(session: Session, sub_id: uuid.UUID) -> None:
    """Mark a subscription deleted without waiting for the rows the worker holds: an UPDATE of its own row only.
    Its email address goes at once; its confirmation link stops working."""
    session.execute(update(Subscription).where(Subscription.id == sub_id)
                    .values(status=DELETED, email="", confirm_token=None)
                    .execution_options(synchronize_session=False))


def cancel_free_deliveries(session: Session, sub_id: uuid.UUID, reason: str) -> int:
    """Cancel a subscription's pending deliveries that no worker holds (``SKIP LOCKED``: never waits); the worker
    cancels the ones it holds itself when it comes to them (``delivery._deliver_one``)."""
    free = (select(Delivery.id).join(Notice, Notice.id == Delivery.notice_id)
            .where(Notice.subscription_id == sub_id, Delivery.status == "pending")
            .with_for_update(of=Delivery, skip_locked=True))
    return session.execute(update(Delivery).where(Delivery.id.in_(free.scalar_subquery()))
                           .values(status="cancelled", last_error=reason)
                           .execution_options(synchronize_session=False)).rowcount


def has_pending_deliveries(session: Session, sub_id: uuid.UUID) -> bool:
    return bool(session.scalar(select(
        select(Delivery.id).join(Notice, Notice.id == Delivery.notice_id)
        .where(Notice.subscription_id == sub_id, Delivery.status == "pending").exists())))


def deleted_subscriptions(session: Session, limit: int = 1000) -> list[uuid.UUID]:
    """Subscriptions marked deleted, locked (skipping those another transaction holds)."""
    return list(session.scalars(select(Subscription.id).where(Subscription.status == DELETED)
                                .limit(limit).with_for_update(skip_locked=True)))


def expire_pending(session: Session, before: datetime) -> int:
    return session.execute(
        delete(Subscription).where(Subscription.status == "pending", Subscription.created_at < before)
    ).rowcount


def area_geojson(session: Session, sub_id: uuid.UUID) -> str:
    return session.scalar(select(func.ST_AsGeoJSON(Subscription.area, 7)).where(Subscription.id == sub_id))


# --- matching -----------------------------------------------------------------------------------


def match_subscriptions(session: Session, request_id: uuid.UUID) -> list[Any]:
    """Active subscriptions whose area and filters match the site, in one indexed query."""
    return list(session.execute(text(f"""
        SELECT s.id, s.email, s.delivery, s.language, s.modes
        FROM site_requests r JOIN subscriptions s ON {MATCH_SQL}
        WHERE r.id = :rid AND s.status = 'active'
    """), {"rid": request_id}))


def owner_subscriptions(session: Session, request_id: uuid.UUID, exclude: Sequence[uuid.UUID]) -> list[Any]:
    """Active subscriptions owned by the organisation that owns the site (made with its key), whatever their area
    and filters, except ``exclude`` (those the site matches): the owner's own channel for what happens to its site
    (``service.OWNER_KINDS``)."""
    return list(session.execute(text("""
        SELECT s.id, s.email, s.delivery, s.language, s.modes
        FROM site_requests r JOIN subscriptions s ON s.organisation_id = r.owner_id
        WHERE r.id = :rid AND s.status = 'active' AND NOT (s.id = ANY(:exclude))
        ORDER BY s.id
    """), {"rid": request_id, "exclude": list(exclude)}))


def count_matches(session: Session, request_id: uuid.UUID) -> int:
    return int(session.scalar(text(f"""
        SELECT count(*) FROM site_requests r JOIN subscriptions s ON {MATCH_SQL}
        WHERE r.id = :rid AND s.status = 'active'
    """), {"rid": request_id}))


def sites_for_subscription(session: Session, sub_id: uuid.UUID, *, ends_after: date, limit: int) -> list[uuid.UUID]:
    """Sites (not drafts) matching a subscription that end on or after ``ends_after``."""
    return list(session.scalars(text(f"""
        SELECT r.id FROM subscriptions s JOIN site_requests r ON {MATCH_SQL}
        WHERE s.id = :sid AND r.status <> 'draft' AND r.latest_end >= :after
        ORDER BY r.earliest_start, r.id LIMIT :limit
    """), {"sid": sub_id, "after": ends_after, "limit": limit}))


def told_sites(session: Session, sub_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[str]:
    """Which of the sites ``ids`` a subscription was told of: a notice of the site, or a welcome listing it (as
    ``last_told``). Its calendar calls off only these (``feeds.calendar``), as only these get a cancellation."""
    if not ids:
        return set()
    return set(session.scalars(text("""
        SELECT cast(n.request_id AS text) FROM notices n
        WHERE n.subscription_id = :sid AND n.request_id = ANY(:ids) AND NOT jsonb_exists(n.payload, 'own_site')
        UNION
        SELECT item -> 'site' ->> 'id'
        FROM notices n CROSS JOIN LATERAL jsonb_array_elements(n.payload -> 'items') AS item
        WHERE n.subscription_id = :sid AND n.kind = 'welcome'
          AND item -> 'site' ->> 'id' = ANY(cast(:texts AS text[]))
    """), {"sid": sub_id, "ids": list(ids), "texts": [str(i) for i in ids]}))


# Sites that are under way or still to come: every state from submitted to active (not drafts, not
# withdrawn, rejected or completed).
CURRENT_STATES = ("submitted", "slot_proposed", "accepted", "contested", "approved", "active")


def current_sites(session: Session, sub_id: uuid.UUID, *, today: date, limit: int) -> tuple[list[uuid.UUID], int]:
    """The sites matching a subscription that are under way or planned (``MATCH_SQL``, as every notice):
    active ones, and the others whose dates (as a notice gives them: slot, preferred dates or window) end
    today or later; the first ``limit`` by start date, and how many there are in all."""
    rows = list(session.execute(text(f"""
        SELECT x.id, count(*) OVER () AS total FROM (
            SELECT r.id, r.status, {SITE_DATES_SQL}
            FROM subscriptions s JOIN site_requests r ON {MATCH_SQL}
            {_CURRENT_SLOT_SQL}
            WHERE s.id = :sid AND r.status = ANY(:states)
        ) x
        WHERE x.status = 'active' OR x.end_date >= :today
        ORDER BY x.start_date, x.id LIMIT :limit
    """), {"sid": sub_id, "states": list(CURRENT_STATES), "today": today, "limit": limit}))
    return [r.id for r in rows], (int(rows[0].total) if rows else 0)


def lead_candidates(session: Session, today: date, horizon_days: int = 366) -> list[Any]:
    """(subscription, site, start) where an approved site starts within the subscription's lead time from
    today. Only an approved slot is a date a business can rely on: a proposed or locked slot may still move
    or be refused, preferred dates and windows are no dates at all. An emergency is active (and has begun)
    the day it is reported; its own notice tells that."""
    return list(session.execute(text(f"""
        SELECT s.id AS subscription_id, r.id AS request_id, sl.start AS start_date
        FROM site_requests r JOIN slots sl ON sl.request_id = r.id
        JOIN subscriptions s ON {MATCH_SQL}
        WHERE r.status = 'approved' AND sl.status = 'approved' AND sl.start IS NOT NULL
          AND s.status = 'active' AND sl.start >= :today AND sl.start <= :horizon
          AND sl.start <= :today + s.lead_days
        ORDER BY r.id, s.id
    """), {"today": today, "horizon": date.fromordinal(today.toordinal() + horizon_days)}))


def site_snapshots(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """The facts a notice tells about each site, as JSON-ready dicts. Who builds is the owner organisation;
    the request's contact is private to its owner and the coordination office and is never part of it."""
    if not ids:
        return {}
    rows = session.execute(text(f"""
        SELECT r.id, r.title, r.description, r.kind, r.impact, r.modes, r.shift, r.status, r.urgency,
               r.duration_days, r.version, o.name AS owner, r.diversions_geom IS NOT NULL AS diversion,
               r.replacement_geom IS NOT NULL AS replacement,
               ST_X(ST_PointOnSurface(r.geom)) AS lon, ST_Y(ST_PointOnSurface(r.geom)) AS lat,
               r.updated_at, {_SITE_DATES.format(s="sd")},
               md5(ST_AsEWKB(r.geom) || coalesce(ST_AsEWKB(r.diversions_geom), ''::bytea)) AS area_key,
               (SELECT count(*) FROM events e WHERE e.request_id = r.id) AS changes,
               (SELECT e.kind || CASE WHEN e.kind = 'slot.displaced'
                                           AND e.payload -> 'previous_slot' = 'null'::jsonb
                                      THEN '{FIRST_DATES_MARK}' ELSE '' END FROM events e
                 WHERE e.request_id = r.id AND e.kind = ANY(:kinds)
                   AND NOT (e.kind = 'request.updated' AND jsonb_exists(e.payload, 'fields')
                            AND NOT jsonb_exists_any(e.payload -> 'fields', cast(:relevant AS text[])))
                 ORDER BY e.id DESC LIMIT 1) AS last_notice,
               CASE WHEN sl.explanation ->> 'method' = 'change' AND NOT {_VOID_SQL.format(s="sl")}
                    THEN jsonb_build_object('what', sl.explanation -> 'change',
                                            'effect', coalesce(sl.explanation -> 'effect', '[]'::jsonb),
                                            'previous', sl.explanation -> 'previous',
                                            'area', {_CHANGED_AREA_SQL}) END AS change
        FROM site_requests r JOIN organisations o ON o.id = r.owner_id
        {_SLOT_OR_CANCELLED_SQL}
        WHERE r.id = ANY(:ids)
    """), {"ids": list(ids), "kinds": NOTICE_EVENT_KINDS, "relevant": sorted(render.RELEVANT_FIELDS)})
    out = {}
    for r in rows:
        out[r.id] = {
            "id": str(r.id), "title": r.title, "kind": r.kind, "impact": r.impact, "modes": list(r.modes or []),
            "shift": r.shift,
            "status": r.status, "urgency": r.urgency, "owner": r.owner,
            "start": r.start_date.isoformat(), "end": r.end_date.isoformat(), "dates": r.dates,
            "duration_days": r.duration_days, "diversion": bool(r.diversion),
            "replacement": bool(r.replacement), "lon": round(r.lon, 6),
            "lat": round(r.lat, 6), "version": r.version, "sequence": int(r.changes),
            "updated_at": r.updated_at.isoformat(), "last_notice": r.last_notice, "change": r.change,
            "area_key": r.area_key,
        }
        if r.last_notice and r.last_notice.endswith(FIRST_DATES_MARK):  # its latest notice gave its first dates
            out[r.id].update(last_notice=r.last_notice.removesuffix(FIRST_DATES_MARK), first_dates=True)
    return out


def transit_facts(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Any]:
    """What the GTFS-RT feed's rule needs to say which transit lines each site affects (``feeds.gtfsrt``), beyond
    its snapshot: the owner, the description and the footprint (GeoJSON, WGS84)."""
    if not ids:
        return {}
    rows = session.execute(text("""
        SELECT r.id, r.owner_id, r.description, ST_AsGeoJSON(r.geom) AS geometry FROM site_requests r
        WHERE r.id = ANY(:ids)
    """), {"ids": list(ids)})
    return {r.id: r for r in rows}


# What each subscription was last told about the site ``:rid``: the notice (its ``seq`` and kind) and site
# snapshot of its latest notice of it, or of a welcome that listed it (its ids, found by ix_notices_welcome_sites).
# ``{subs}``: a condition on ``n.subscription_id``.
_LAST_TOLD_SQL = """
    SELECT DISTINCT ON (t.subscription_id) t.subscription_id, t.seq, t.kind, t.site FROM (
        SELECT n.subscription_id, n.seq, n.kind, n.payload -> 'site' AS site
        FROM notices n
        WHERE n.request_id = :rid AND {subs} AND jsonb_exists(n.payload, 'site')
          AND NOT jsonb_exists(n.payload, 'own_site')  -- told its owner as such, not as a subscriber of the area
        UNION ALL
        SELECT n.subscription_id, n.seq, n.kind, item -> 'site'
        FROM notices n CROSS JOIN LATERAL jsonb_array_elements(n.payload -> 'items') AS item
        WHERE n.kind = 'welcome' AND {subs}
          AND jsonb_path_query_array(n.payload, '$.items[*].site.id') @> jsonb_build_array(cast(:rid AS text))
          AND item -> 'site' ->> 'id' = cast(:rid AS text)
    ) t
    ORDER BY t.subscription_id, t.seq DESC
"""


def last_told(session: Session, request_id: uuid.UUID, sub_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """What each subscription was last told about a site: the site snapshot of its latest notice of it, or
    of its welcome notice when that listed the site and nothing came since."""
    if not sub_ids:
        return {}
    rows = session.execute(text(_LAST_TOLD_SQL.format(subs="n.subscription_id = ANY(:subs)")),
                           {"rid": request_id, "subs": list(sub_ids)})
    return {r.subscription_id: r.site for r in rows if isinstance(r.site, dict)}


def left_candidates(session: Session, request_id: uuid.UUID) -> list[Any]:
    """Active subscriptions that were told about a site (a notice of it, or a welcome that listed it) and that it
    no longer matches, unless what they were last told about it is just that (``render.SITE_LEFT``): each with
    its inbox and rhythm, the notice it was last told about the site (``seq``) and its snapshot (``site``) and,
    per part of the match (``MATCH_PARTS``), whether the site passes it now."""
    parts = ", ".join(f"{sql} AS {name}" for name, sql in MATCH_PARTS.items())
    return list(session.execute(text(f"""
        SELECT s.id, s.email, s.delivery, s.modes AS chosen_modes, t.seq, t.site, {parts}
        FROM ({_LAST_TOLD_SQL.format(subs="true")}) t
        JOIN subscriptions s ON s.id = t.subscription_id
        JOIN site_requests r ON r.id = :rid
        WHERE s.status = 'active' AND t.kind <> :left AND jsonb_typeof(t.site) = 'object' AND NOT ({MATCH_SQL})
    """), {"rid": request_id, "left": render.SITE_LEFT}))


# --- outbox consumption -------------------------------------------------------------------------

# Events are consumed by anti-join against notice_event_log rather than by a single cursor, so an event
# whose transaction commits after a later one (ids are assigned at insert, not at commit) is still seen.
# The scan starts this many ids below the highest processed one.
EVENT_LOOKBACK = 100_000


def unprocessed_events(session: Session, limit: int) -> list[Event]:
    high = session.scalar(select(func.coalesce(func.max(EventLog.event_id), 0)))
    stmt = (
        select(Event)
        .where(Event.id > high - EVENT_LOOKBACK)
        .where(~select(EventLog.event_id).where(EventLog.event_id == Event.id).exists())
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(of=Event, skip_locked=True)
    )
    return list(session.scalars(stmt))


def mark_events(session: Session, ids: Sequence[int]) -> None:
    if ids:
        session.execute(insert(EventLog).values([{"event_id": i} for i in ids]).on_conflict_do_nothing())


def insert_notice(session: Session, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a notice once per (subscription, dedupe_key); None when it was there already."""
    stmt = insert(Notice).values(id=uuid.uuid4(), **values).on_conflict_do_nothing(
        constraint="uq_notices_subscription_dedupe").returning(Notice.id)
    return session.scalar(stmt)


def insert_delivery(session: Session, values: dict[str, Any]) -> uuid.UUID | None:
    """Insert a delivery once per (inbox, dedupe_key): the same change never reaches an inbox twice."""
    stmt = insert(Delivery).values(id=uuid.uuid4(), **values).on_conflict_do_nothing(
        constraint="uq_notice_deliveries_inbox_dedupe").returning(Delivery.id)
    return session.scalar(stmt)


def enabled_endpoints(session: Session, sub_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookEndpoint]]:
    out: dict[uuid.UUID, list[WebhookEndpoint]] = {}
    if not sub_ids:
        return out
    for ep in session.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.subscription_id.in_(list(sub_ids)), WebhookEndpoint.enabled)):
        out.setdefault(ep.subscription_id, []).append(ep)
    return out


# --- digests ------------------------------------------------------------------------------------


def digest_due(session: Session, delivery: str, boundary: datetime) -> list[Subscription]:
    """Subscriptions whose digest time ``boundary`` came since their last digest or, before the first one,
    since they were confirmed (or switched to this rhythm: ``last_digest_at`` is set then): the first digest
    goes out at the first regular digest time, not at once."""
    since = func.coalesce(Subscription.last_digest_at, Subscription.confirmed_at, Subscription.created_at)
    return list(session.scalars(
        select(Subscription).where(
            Subscription.status == "active", Subscription.delivery == delivery, since < boundary,
        ).with_for_update(skip_locked=True)
    ))


def immediate_with_waiting_digest(session: Session) -> list[Subscription]:
    """Active subscriptions with immediate delivery that still have notices waiting for a digest (they
    switched from daily/weekly); locked, skipping those another worker or a change holds."""
    waiting = select(Notice.subscription_id).where(Notice.digest_pending)  # on ix_notices_digest_pending
    return list(session.scalars(
        select(Subscription).where(Subscription.status == "active", Subscription.delivery == "immediate",
                                   Subscription.id.in_(waiting))
        .with_for_update(of=Subscription, skip_locked=True)
    ))


def pending_digest_items(session: Session, sub_id: uuid.UUID) -> list[Notice]:
    return list(session.scalars(
        select(Notice).where(Notice.subscription_id == sub_id, Notice.digest_pending)
        .order_by(Notice.seq).with_for_update()
    ))


# --- delivery -----------------------------------------------------------------------------------


def claim_due(session: Session, now: datetime, limit: int) -> list[tuple[Delivery, Notice, Subscription]]:
    """Pending deliveries that are due, locked for this transaction (other workers skip them), in the order
    they were queued (``seq``). Each inbox is a queue: a delivery is not claimed while an earlier one of the
    same inbox is still pending, unless that one is claimed here too (and so goes out first). An earlier one
    waiting for its retry, or held by another worker, holds the later ones back."""
    earlier = aliased(Delivery)
    waiting = (
        select(earlier.id)
        .where(earlier.inbox == Delivery.inbox, earlier.status == "pending", earlier.seq < Delivery.seq,
               earlier.next_attempt_at > now)
        .exists()
    )
    stmt = (
        select(Delivery, Notice, Subscription)
        .join(Notice, Notice.id == Delivery.notice_id)
        .join(Subscription, Subscription.id == Notice.subscription_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, ~waiting)
        .order_by(Delivery.seq)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    rows = [tuple(row) for row in session.execute(stmt)]
    if not rows:
        return []  # type: ignore[return-value]
    # An earlier pending delivery of the same inbox that this claim skipped (another worker holds it): leave
    # the later ones alone (they stay locked until this transaction ends, then wait for their turn).
    ids = [row[0].id for row in rows]
    overtaking = set(session.scalars(
        select(Delivery.id).where(
            Delivery.id.in_(ids),
            select(earlier.id).where(earlier.inbox == Delivery.inbox, earlier.status == "pending",
                                     earlier.seq < Delivery.seq, earlier.id.not_in(ids)).exists(),
        )
    ))
    return [row for row in rows if row[0].id not in overtaking]  # type: ignore[misc]


def lock_endpoint(session: Session, endpoint_id: uuid.UUID) -> tuple[WebhookEndpoint | None, bool]:
    """The endpoint locked for this transaction without waiting (``SKIP LOCKED``), as committed now:
    ``(endpoint, False)``; ``(None, True)`` when another transaction holds it (a change of its subscription being
    saved, an unsubscribe); ``(None, False)`` when it is gone."""
    endpoint = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                              .with_for_update(skip_locked=True).execution_options(populate_existing=True))
    if endpoint is not None:
        return endpoint, False
    held = session.scalar(select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id))
    return None, bool(held)


def add_attempt(session: Session, **values: Any) -> None:
    session.add(Attempt(**values))


def cancel_endpoint_deliveries(session: Session, endpoint_id: uuid.UUID, reason: str) -> int:
    return session.execute(
        update(Delivery).where(Delivery.endpoint_id == endpoint_id, Delivery.status == "pending")
        .values(status="cancelled", last_error=reason)
    ).rowcount


def cancel_pending_email(session: Session, sub_id: uuid.UUID, reason: str) -> int:
    notice_ids = select(Notice.id).where(Notice.subscription_id == sub_id)
    return session.execute(
        update(Delivery).where(Delivery.notice_id.in_(notice_ids), Delivery.channel == "email",
                               Delivery.status == "pending").values(status="cancelled", last_error=reason)
    ).rowcount


def count_notices(session: Session, sub_id: uuid.UUID, kind: str) -> int:
    return int(session.scalar(select(func.count()).select_from(Notice).where(
        Notice.subscription_id == sub_id, Notice.kind == kind)))


def notices_for(session: Session, sub_id: uuid.UUID, limit: int) -> list[Notice]:
    """A subscription's notices of sites (and its welcome, which lists the sites), newest first."""
    return list(session.scalars(
        select(Notice).where(Notice.subscription_id == sub_id,
                             or_(Notice.request_id.is_not(None), Notice.kind == "welcome"))
        .order_by(Notice.seq.desc()).limit(limit)
    ))


def delivery_counts(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
