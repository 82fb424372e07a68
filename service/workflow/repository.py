"""All SQL of the workflow domain."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, exists, func, or_, select, text
from sqlalchemy.orm import Session

from service.kit.spatial_sql import pair_ctes
from service.requests.models import SiteRequest
from service.slots.models import Slot
from service.workflow.models import RequestChange, RequestComment, RequestDeadline, RequestHistory

# --- requests and slots ---------------------------------------------------------------------------


def lock_request(session: Session, request_id: uuid.UUID) -> SiteRequest | None:
    """The request, locked for the rest of the transaction and re-read from the database (a concurrent
    transaction may have changed it while we waited for the lock)."""
    stmt = (select(SiteRequest).where(SiteRequest.id == request_id).with_for_update(of=SiteRequest)
            .execution_options(populate_existing=True))
    return session.scalar(stmt)


def get_request(session: Session, request_id: uuid.UUID) -> SiteRequest | None:
    return session.get(SiteRequest, request_id)


def get_slot(session: Session, request_id: uuid.UUID, *, for_update: bool = False) -> Slot | None:
    stmt = select(Slot).where(Slot.request_id == request_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def displaced_by(session: Session, emergency_id: uuid.UUID) -> list[uuid.UUID]:
    """The requests whose slot is still the one an emergency's displacement gave them (their slot's explanation
    names it in ``displaced_by``), oldest submission first."""
    return list(session.scalars(text(
        "select s.request_id from slots s join site_requests r on r.id = s.request_id "
        "where s.explanation ->> 'displaced_by' = :eid order by r.created_at, r.id"), {"eid": str(emergency_id)}))


def delete_slot(session: Session, request_id: uuid.UUID) -> None:
    slot = session.get(Slot, request_id)
    if slot is not None:
        session.delete(slot)
        session.flush()


ACTIVE_REQUEST_STATUSES = ("submitted", "slot_proposed", "accepted", "contested", "approved", "active")
BLOCKING_SLOT_STATUSES = ("proposed", "locked", "approved")


def _rank(col: str) -> str:
    return f"(cast(:order as jsonb) ->> {col})::int"


def conflicting_slots(
    session: Session, *, request_id: uuid.UUID, owner_id: uuid.UUID, geom_wkb: bytes | None, impact: str,
    shift: str, start: date, end: date, distances: dict[str, float], route_tolerance_m: float,
    impact_order: dict[str, int], statuses: tuple[str, ...] = BLOCKING_SLOT_STATUSES,
    routes: tuple[bytes | None, bytes | None] | None = None, modes: Sequence[str] | None = None,
) -> list[Row[Any]]:
    """Slots of other requests that conflict with works of request ``request_id`` on ``[start, end]``, by
    the slot system's hard rules (the same as ``slots.repository.hard_conflicts`` and the adapter's corridor
    cliques), each with its ``kind``:

    - ``space``: another owner, footprints within the larger of the two impact distances
      (``conflict_distance_m``; none between works in the road and works on a track of their own:
      ``works_in_road``), shifts that clash (day and night work do not);
    - ``diversion``: another owner, shifts that clash, one footprint (impact other than ``none``) within
      ``route_tolerance_m`` of the other's diversion or replacement route;
    - ``corridor``: both on a corridor that allows one site at a time (``max_concurrent`` 1; touching it and
      stopping or restricting its mode: ``corridor_counts``), each with at least the corridor's ``min_impact``,
      shifts that clash (any owner, as in a plan run).

    Bundle partners (:func:`bundle_mates`: one closure, one trench) clash with nothing here, as in a plan run.

    ``geom_wkb`` replaces the request's own footprint (a change of area); ``None`` uses the stored one.
    ``routes`` (diversions, replacement routes; ``None`` in it: none) replaces its stored routes (a change of
    its effect); ``None`` uses the stored ones. ``modes`` likewise replaces its stored modes.

    Each row's ``title`` is the other request's as ``owner_id`` may read it: as written for its own requests,
    another owner's public title (``public_title``) else: the rows name the other sites in answers and texts
    about request ``request_id``."""
    footprint = ("st_transform(st_geomfromwkb(:wkb, 4326), 25832)" if geom_wkb is not None
                 else "(select geom_utm from site_requests where id = :rid)")
    own_routes = ("st_transform(st_geomfromwkb(cast(:div as bytea), 4326), 25832) as diversions_utm, "
                  "st_transform(st_geomfromwkb(cast(:rep as bytea), 4326), 25832) as replacement_utm"
                  if routes is not None else "diversions_utm, replacement_utm")
    # the other requests near the works are found on the GiST indexes, piece by piece of a detailed geometry
    # (service.kit.spatial_sql); the corridors the works count on once, not once per slot
    required = ("case when works_in_road(b.kind, b.modes) = works_in_road(a.kind, a.modes) "
                "then greatest(coalesce((cast(:dist as jsonb) ->> b.impact)::float, 0), "
                "coalesce((cast(:dist as jsonb) ->> :impact)::float, 0)) else 0 end + 0.001")
    sql = f"""
    with a as materialized (
        select id as k, {footprint} as geom_utm, {own_routes}, kind, coalesce(cast(:modes as varchar[]), modes) as modes
        from site_requests where id = :rid
    ), {pair_ctes(required=required, reach=":maxd", tol=":tol", pair_filter="b.id <> a.k")},
    corridors_on as materialized (
        select c.kind, c.geom_utm, c.buffer_m, c.min_impact from corridors c, a
        where c.max_concurrent <= 1
          and corridor_counts(c.kind, c.geom_utm, c.buffer_m, a.geom_utm, a.kind, a.modes)
          and {_rank(':impact')} >= coalesce({_rank('c.min_impact')}, 0)
    ), cand as (
        select r.id, r.owner_id, r.status as request_status,
               case when r.owner_id = :owner then r.title else r.public_title end as title,
               r.earliest_start, r.latest_end,
               r.duration_days, r.preferred_start, r.impact, r.shift,
               s.start, s."end", s.status as slot_status,
               r.owner_id <> :owner
                 and not ((r.shift = 'day' and :shift = 'night') or (r.shift = 'night' and :shift = 'day'))
                 as pair_rules,
               coalesce(n.space_hit, false) as space_hit,
               coalesce((:impact <> 'none' and (n.a_on_b_div or n.a_on_b_rep))
                        or (r.impact <> 'none' and (n.b_on_a_div or n.b_on_a_rep)), false) as route_hit,
               not ((r.shift = 'day' and :shift = 'night') or (r.shift = 'night' and :shift = 'day'))
               and exists (select 1 from corridors_on c
                       where corridor_counts(c.kind, c.geom_utm, c.buffer_m, r.geom_utm, r.kind, r.modes)
                         and {_rank('r.impact')} >= coalesce({_rank('c.min_impact')}, 0)) as corridor_hit
        from slots s join site_requests r on r.id = s.request_id left join near n on n.b_id = r.id
        where s.request_id <> :rid and s.status = any(:slot_statuses) and s.start is not null
          and r.status = any(:req_statuses) and r.id <> all(:mates)
          and s.start <= :end and s."end" >= :start
    )
    select *, case when pair_rules and space_hit then 'space'
                   when pair_rules and route_hit then 'diversion' else 'corridor' end as kind
    from cand
    where (pair_rules and (space_hit or route_hit)) or corridor_hit
    order by start, id
    """
    params = {"rid": request_id, "owner": owner_id, "wkb": geom_wkb, "impact": impact, "shift": shift,
              "start": start, "end": end, "dist": json.dumps(distances), "slot_statuses": list(statuses),
              "req_statuses": list(ACTIVE_REQUEST_STATUSES), "tol": route_tolerance_m + 0.001,
              "order": json.dumps(impact_order), "modes": list(modes) if modes is not None else None,
              "mates": bundle_mates(session, request_id), "maxd": max(distances.values(), default=0.0) + 0.001}
    if geom_wkb is None:
        params.pop("wkb")
    if routes is not None:
        params["div"], params["rep"] = routes
    return list(session.execute(text(sql), params))


def bundle_mates(session: Session, request_id: uuid.UUID) -> list[uuid.UUID]:
    """The requests bundled with ``request_id``: named in ``bundle_with`` (either direction) or paired by an accepted
    dig-once opportunity, and so on, as a plan run merges bundles into groups (``slots.adapter.bundles_of``)."""
    sql = """
    with recursive mates(id) as (
        select cast(:rid as uuid)
        union
        select n.id from mates m cross join lateral (
            select cast(x as uuid) as id from site_requests r cross join unnest(r.bundle_with) x where r.id = m.id
            union all
            select r.id from site_requests r where cast(m.id as varchar) = any(r.bundle_with)
            union all
            select case when o.request_a = m.id then o.request_b else o.request_a end from opportunities o
            where o.status = 'accepted' and (o.request_a = m.id or o.request_b = m.id)
        ) n
    )
    select id from mates where id <> :rid
    """
    return list(session.scalars(text(sql), {"rid": request_id}))


def neighbour_slots(
    session: Session, *, request_id: uuid.UUID, owner_id: uuid.UUID, geom_wkb: bytes | None, impact: str,
    shift: str, distances: dict[str, float], route_tolerance_m: float, impact_order: dict[str, int], start: date,
    end: date, routes: tuple[bytes | None, bytes | None] | None = None, modes: Sequence[str] | None = None,
    statuses: tuple[str, ...] = BLOCKING_SLOT_STATUSES,
) -> list[Row[Any]]:
    """Every slot (of any blocking status, or of ``statuses``: the fixed ones only for an approved site an
    emergency displaces) that would conflict with the request somewhere in ``[start, end]``: what a placement
    inside that window must avoid."""
    return conflicting_slots(session, request_id=request_id, owner_id=owner_id, geom_wkb=geom_wkb, impact=impact,
                             shift=shift, start=start, end=end, distances=distances,
                             route_tolerance_m=route_tolerance_m, impact_order=impact_order, routes=routes,
                             modes=modes, statuses=statuses)


def capacity_members(
    session: Session, *, request_id: uuid.UUID, geom_wkb: bytes | None, impact: str, start: date, end: date,
    impact_order: dict[str, int], statuses: tuple[str, ...], modes: tuple[str, ...] | None = None,
) -> list[Row[Any]]:
    """The zones and corridors allowing more than one site at a time that the request's works would count
    in (footprint intersecting the zone / touching the corridor and stopping or restricting its mode
    (``corridor_counts``; ``modes`` replaces the stored modes), impact at least the rule's ``min_impact``), each
    with the slots (of ``statuses``) of the other members that overlap ``[start, end]``:
    rows ``(rule, rule_id, name, capacity, id, title, start, end, slot_status, request_status, shift)``; ``title`` as
    the owner of ``request_id`` may read it (another owner's: its ``public_title``)."""
    footprint = ("st_transform(st_geomfromwkb(:wkb, 4326), 25832)" if geom_wkb is not None
                 else "(select geom_utm from site_requests where id = :rid)")
    member = f"""
        s.request_id <> :rid and s.status = any(:slot_statuses) and s.start is not null
        and r.status = any(:req_statuses) and s.start <= :end and s."end" >= :start
        and {_rank('r.impact')} >= coalesce({_rank('x.min_impact')}, 0)"""
    sql = f"""
    with me as (
        select {footprint} as geom, kind, coalesce(cast(:modes as varchar[]), modes) as modes
        from site_requests where id = :rid
    ), rules as (
        select 'zone' as rule, z.id as rule_id, z.name, z.capacity, z.min_impact, z.geom_utm, 0.0 as buffer_m,
               null as kind
        from zones z, me where st_intersects(z.geom_utm, me.geom)
          and {_rank(':impact')} >= coalesce({_rank('z.min_impact')}, 0)
        union all
        select 'corridor', c.id, c.name, c.max_concurrent, c.min_impact, c.geom_utm, c.buffer_m, c.kind
        from corridors c, me where c.max_concurrent > 1
          and corridor_counts(c.kind, c.geom_utm, c.buffer_m, me.geom, me.kind, me.modes)
          and {_rank(':impact')} >= coalesce({_rank('c.min_impact')}, 0)
    )
    select x.rule, x.rule_id, x.name, x.capacity, r.id,
           case when r.owner_id = (select owner_id from site_requests where id = :rid) then r.title
                else r.public_title end as title,
           s.start, s."end", s.status as slot_status,
           r.status as request_status, r.shift
    from rules x
    join (slots s join site_requests r on r.id = s.request_id)
      on ((x.rule = 'zone' and st_intersects(x.geom_utm, r.geom_utm))
          or (x.rule = 'corridor'
              and corridor_counts(x.kind, x.geom_utm, x.buffer_m, r.geom_utm, r.kind, r.modes))) and {member}
    order by x.rule, x.rule_id, s.start, r.id
    """
    params = {"rid": request_id, "wkb": geom_wkb, "impact": impact, "start": start, "end": end,
              "modes": list(modes) if modes is not None else None,
              "order": json.dumps(impact_order), "slot_statuses": list(statuses),
              "req_statuses": list(ACTIVE_REQUEST_STATUSES)}
    if geom_wkb is None:
        params.pop("wkb")
    return list(session.execute(text(sql), params))


def rules_in_area(session: Session, *, request_id: uuid.UUID, geom_wkb: bytes | None, start: date,
                  end: date) -> list[Row[Any]]:
    """The moratoriums and blackouts whose area the request's footprint (``geom_wkb``, EPSG:4326 WKB, replacing
    the stored one; ``None``: the stored one) meets, as ``slots.repository.forbidden_periods`` joins them
    (``st_intersects``; a blackout without area everywhere), overlapping ``[start, end]``: rows ``(kind,
    rule_id, name, start, end, max_impact)`` (``max_impact`` null for moratoriums). Whether a rule applies to the
    works (excavating kind, impact above ``max_impact``, no emergency) is for ``service.geo.rules`` to say: this
    is the query for works a change alters (another area or impact), which the stored request does not show."""
    footprint = ("st_transform(st_geomfromwkb(:wkb, 4326), 25832)" if geom_wkb is not None
                 else "(select geom_utm from site_requests where id = :rid)")
    sql = f"""
    with me as (select {footprint} as geom)
    select 'moratorium' as kind, m.id as rule_id, m.name, m.start, m."end", null as max_impact
    from moratoriums m, me where st_intersects(m.geom_utm, me.geom)
      and m.start <= :end and m."end" >= :start
    union all
    select 'blackout', b.id, b.name, b.start, b."end", b.max_impact
    from blackouts b, me where (b.geom_utm is null or st_intersects(b.geom_utm, me.geom))
      and b.start <= :end and b."end" >= :start
    order by 4, 1, 3
    """
    params: dict[str, Any] = {"rid": request_id, "start": start, "end": end}
    if geom_wkb is not None:
        params["wkb"] = geom_wkb
    return list(session.execute(text(sql), params))


# --- precedences ----------------------------------------------------------------------------------


def precedence_partners(session: Session, request_id: uuid.UUID, *,
                        slot_statuses: Sequence[str] = BLOCKING_SLOT_STATUSES,
                        inert: Sequence[str] = ("withdrawn", "rejected", "draft"),
                        after: Sequence[dict[str, Any]] | None = None) -> list[Row[Any]]:
    """The precedences (``after`` lists) with ``request_id`` at either end whose other request holds a dated
    slot of ``slot_statuses`` and is not ``inert``: rows ``(direction, other_id, title, request_status,
    min_gap_days, max_gap_days, start, end, slot_status)``, ``title`` as the owner of ``request_id`` may read it
    (another owner's: its ``public_title``); ``direction`` is ``after`` when ``request_id`` comes
    after the other, ``before`` when it comes before it. ``after`` (entries ``request``, ``min_gap_days``,
    ``max_gap_days``), when given, stands for the stored ``after`` list of ``request_id`` (a change after
    approval that replaces it); the links naming ``request_id`` as the predecessor stay as stored."""
    entries = list(after or [])
    sql = """
    with links as (
        select 'after' as direction, p.predecessor_id as other_id, p.min_gap_days, p.max_gap_days
        from request_precedences p where p.request_id = :rid and not :replaced
        union all
        select 'after', a.other_id, a.min_gap_days, a.max_gap_days
        from unnest(cast(:ids as uuid[]), cast(:mins as integer[]), cast(:maxs as integer[]))
             as a(other_id, min_gap_days, max_gap_days)
        union all
        select 'before', p.request_id, p.min_gap_days, p.max_gap_days
        from request_precedences p where p.predecessor_id = :rid
    )
    select l.direction, l.other_id,
           case when r.owner_id = (select owner_id from site_requests where id = :rid) then r.title
                else r.public_title end as title,
           r.status as request_status, l.min_gap_days, l.max_gap_days,
           s.start, s."end", s.status as slot_status
    from links l join site_requests r on r.id = l.other_id join slots s on s.request_id = r.id
    where s.start is not null and s.status = any(:slot_statuses) and not (r.status = any(:inert))
    order by l.direction, s.start, l.other_id
    """
    return list(session.execute(text(sql), {
        "rid": request_id, "slot_statuses": list(slot_statuses), "inert": list(inert), "replaced": after is not None,
        "ids": [uuid.UUID(str(e["request"])) for e in entries], "mins": [int(e["min_gap_days"]) for e in entries],
        "maxs": [e["max_gap_days"] for e in entries]}))


# --- history --------------------------------------------------------------------------------------


def history_rows(session: Session, request_id: uuid.UUID) -> list[RequestHistory]:
    return list(session.scalars(
        select(RequestHistory).where(RequestHistory.request_id == request_id).order_by(RequestHistory.seq)
    ))


def last_reasoned(session: Session, request_id: uuid.UUID) -> RequestHistory | None:
    """The latest history row that carries a reason code (a rejection, revocation, system decision)."""
    return session.scalar(
        select(RequestHistory).where(RequestHistory.request_id == request_id, RequestHistory.reason_code.is_not(None))
        .order_by(RequestHistory.seq.desc()).limit(1)
    )


def last_of(session: Session, request_id: uuid.UUID, action: str) -> RequestHistory | None:
    """The latest history row of ``action`` (e.g. the contest that made the request contested)."""
    return session.scalar(
        select(RequestHistory).where(RequestHistory.request_id == request_id, RequestHistory.action == action)
        .order_by(RequestHistory.seq.desc()).limit(1)
    )


def next_seq(session: Session, request_id: uuid.UUID) -> int:
    current = session.scalar(select(func.max(RequestHistory.seq)).where(RequestHistory.request_id == request_id))
    return (current or 0) + 1


def add_history(session: Session, row: RequestHistory) -> RequestHistory:
    session.add(row)
    session.flush()
    return row


# --- comments -------------------------------------------------------------------------------------


def add_comment(session: Session, comment: RequestComment) -> RequestComment:
    session.add(comment)
    session.flush()
    session.refresh(comment)
    return comment


def comments_of(session: Session, request_id: uuid.UUID) -> list[RequestComment]:
    return list(session.scalars(
        select(RequestComment).where(RequestComment.request_id == request_id)
        .order_by(RequestComment.created_at, RequestComment.id)
    ))


# --- changes after approval -----------------------------------------------------------------------


def add_change(session: Session, change: RequestChange) -> RequestChange:
    session.add(change)
    session.flush()
    return change


def pending_change(session: Session, request_id: uuid.UUID) -> RequestChange | None:
    return session.scalar(
        select(RequestChange).where(RequestChange.request_id == request_id, RequestChange.status == "pending")
    )


def get_change(session: Session, request_id: uuid.UUID, change_id: uuid.UUID, *,
               lock: bool = True) -> RequestChange | None:
    query = select(RequestChange).where(RequestChange.id == change_id, RequestChange.request_id == request_id)
    return session.scalar(query.with_for_update() if lock else query)


def get_comment(session: Session, request_id: uuid.UUID, comment_id: uuid.UUID) -> RequestComment | None:
    return session.scalar(select(RequestComment).where(RequestComment.id == comment_id,
                                                       RequestComment.request_id == request_id))


def changes_of(session: Session, request_id: uuid.UUID) -> list[RequestChange]:
    return list(session.scalars(
        select(RequestChange).where(RequestChange.request_id == request_id).order_by(RequestChange.created_at)
    ))


def change_geometry_wkb(session: Session, change: RequestChange) -> bytes | None:
    if change.geom is None:
        return None
    return bytes(session.scalar(select(func.ST_AsBinary(RequestChange.geom)).where(RequestChange.id == change.id)))


# --- deadlines ------------------------------------------------------------------------------------


def set_deadline(session: Session, request_id: uuid.UUID, *, party: str, status: str, since: datetime,
                 due_at: datetime) -> RequestDeadline:
    deadline = session.get(RequestDeadline, request_id)
    if deadline is None:
        deadline = RequestDeadline(request_id=request_id)
        session.add(deadline)
    deadline.party, deadline.status, deadline.since, deadline.due_at = party, status, since, due_at
    session.flush()
    return deadline


def clear_deadline(session: Session, request_id: uuid.UUID) -> None:
    session.execute(delete(RequestDeadline).where(RequestDeadline.request_id == request_id))


def get_deadline(session: Session, request_id: uuid.UUID) -> RequestDeadline | None:
    return session.get(RequestDeadline, request_id)


def lock_deadline(session: Session, request_id: uuid.UUID) -> RequestDeadline | None:
    """The request's deadline, locked and re-read from the database: another worker may have acted on it (and
    cleared or replaced it) since :func:`due_deadlines` read it. Take the request's lock first."""
    stmt = (select(RequestDeadline).where(RequestDeadline.request_id == request_id).with_for_update()
            .execution_options(populate_existing=True))
    return session.scalar(stmt)


def due_deadlines(session: Session, now: datetime, limit: int = 500) -> list[RequestDeadline]:
    """Deadlines due at ``now`` that can be acted on: every owner deadline, and coordinator deadlines of
    requests that have a proposal (a dated proposed or locked slot) that can be deemed approved."""
    actionable = or_(
        RequestDeadline.party == "owner",
        exists().where(Slot.request_id == RequestDeadline.request_id, Slot.start.is_not(None),
                       Slot.status.in_(("proposed", "locked"))),
    )
    return list(session.scalars(
        select(RequestDeadline).where(RequestDeadline.due_at <= now, actionable)
        .order_by(RequestDeadline.due_at).limit(limit)
    ))


def transaction_now(session: Session) -> datetime:
    return session.scalar(select(func.now()))
