"""All SQL of the slots domain: plan runs, slots, and the reads the adapter needs (requests in a scope,
hard conflicts between them)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, Row, delete, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from service.kit.spatial_sql import pair_ctes
from service.requests.models import SiteRequest
from service.slots.models import PlanRun, Slot

# Requests a plan can schedule, and requests whose existing slot others must respect.
PLANNABLE_STATUSES = ("submitted", "slot_proposed", "contested", "accepted", "approved", "active")
# In these request states the slot (if any) is fixed: the owner accepted it, it was approved, or works run.
FIXED_REQUEST_STATUSES = ("accepted", "approved", "active")
FIXED_SLOT_STATUSES = ("locked", "approved")


# --- plan runs ----------------------------------------------------------------------------------


def add_plan(session: Session, run: PlanRun) -> PlanRun:
    session.add(run)
    session.flush()
    return run


def get_plan(session: Session, plan_id: uuid.UUID, *, for_update: bool = False) -> PlanRun | None:
    stmt = select(PlanRun).where(PlanRun.id == plan_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def plan_params(session: Session, plan_id: uuid.UUID) -> dict[str, Any]:
    """A run's params, read without locking its row (progress updates write it meanwhile)."""
    return session.scalar(select(PlanRun.params).where(PlanRun.id == plan_id)) or {}


_PLAN_COLUMNS = ("id, status, progress, params, stats - cast(:leave_out as text[]) as stats, fcfs, error, "
                 "created_by, created_at, started_at, finished_at")


def plan_light(session: Session, plan_id: uuid.UUID, *, leave_out: Sequence[str]) -> Row[Any] | None:
    """A run as a row, its statistics without the keys ``leave_out`` (left in the database, not transferred)."""
    return session.execute(text(f"select {_PLAN_COLUMNS} from plan_runs where id = :id"),
                           {"id": plan_id, "leave_out": list(leave_out)}).first()


def plan_page(session: Session, *, after: tuple[datetime, uuid.UUID] | None, limit: int,
              leave_out: Sequence[str]) -> list[Row[Any]]:
    """Runs newest first (``created_at``, then id), those after the cursor ``after`` (a row's sort key)."""
    where = "where (created_at, id) < (:at, :id)" if after is not None else ""
    params: dict[str, Any] = {"limit": limit, "leave_out": list(leave_out)}
    if after is not None:
        params.update(at=after[0], id=after[1])
    return list(session.execute(text(
        f"select {_PLAN_COLUMNS} from plan_runs {where} order by created_at desc, id desc limit :limit"), params))


def plan_outcomes(session: Session, plan_id: uuid.UUID) -> tuple[str, dict[str, Any] | None] | None:
    """A run's status and the requests it moved or left unplaced (``stats -> 'outcomes'``); None: no such run."""
    row = session.execute(text("select status, stats -> 'outcomes' as outcomes from plan_runs where id = :id"),
                          {"id": plan_id}).first()
    return None if row is None else (row.status, row.outcomes)


def request_states(session: Session, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """Id, title and status of the requests ``ids``."""
    if not ids:
        return []
    return list(session.execute(text("select id, title, status from site_requests where id = any(:ids)"),
                                {"ids": list(ids)}))


def claim_queued_plan(session: Session) -> PlanRun | None:
    """The oldest queued run, locked so that concurrent workers skip it."""
    stmt = (
        select(PlanRun).where(PlanRun.status == "queued").order_by(PlanRun.created_at)
        .limit(1).with_for_update(skip_locked=True)
    )
    return session.scalar(stmt)


# A plan run is "alive" while the process running it holds a session-level advisory lock on this key; the
# lock goes with the process's connection when the process dies, so no heartbeat or timeout is needed.
_RUN_LOCK_KEY = "hashtextextended('baustellen.plan_run:' || :plan_id, 0)"


@contextmanager
def runner_lock(factory: sessionmaker[Session], plan_id: uuid.UUID) -> Iterator[None]:
    """Hold the plan run's liveness lock for the duration of the block, on a connection of its own (or, when
    the factory is bound to a single connection as in the tests, on that one)."""
    bind = factory.kw.get("bind")
    own = isinstance(bind, Engine)
    with bind.connect() if own else nullcontext(bind) as conn:  # type: ignore[union-attr]
        conn.execute(text(f"SELECT pg_advisory_lock({_RUN_LOCK_KEY})"), {"plan_id": str(plan_id)})
        if own:
            conn.commit()  # a session-level lock outlives the transaction; do not sit idle in one
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({_RUN_LOCK_KEY})"), {"plan_id": str(plan_id)})
            if own:
                conn.commit()


def orphaned_runs(session: Session, started_before: datetime) -> list[PlanRun]:
    """Runs marked ``running`` (started before ``started_before``) whose runner lock nobody holds: the process
    running them died. Locked FOR UPDATE; the advisory test lock is held until the transaction ends."""
    candidates = session.scalars(
        select(PlanRun).where(PlanRun.status == "running", PlanRun.started_at < started_before)
        .order_by(PlanRun.started_at).with_for_update(skip_locked=True)
    ).all()
    return [run for run in candidates
            if session.scalar(text(f"SELECT pg_try_advisory_xact_lock({_RUN_LOCK_KEY})"), {"plan_id": str(run.id)})]


def set_progress(session: Session, plan_id: uuid.UUID, progress: float) -> None:
    session.execute(update(PlanRun).where(PlanRun.id == plan_id).values(progress=progress))


# --- slots --------------------------------------------------------------------------------------


def get_slot(session: Session, request_id: uuid.UUID, *, for_update: bool = False) -> Slot | None:
    stmt = select(Slot).where(Slot.request_id == request_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def slots_of(session: Session, request_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Slot]:
    ids = list(request_ids)
    if not ids:
        return {}
    return {s.request_id: s for s in session.scalars(select(Slot).where(Slot.request_id.in_(ids)))}


def put_slot(session: Session, request_id: uuid.UUID, **values: Any) -> Slot:
    slot = session.get(Slot, request_id)
    if slot is None:
        slot = Slot(request_id=request_id, **values)
        session.add(slot)
    else:
        for key, value in values.items():
            setattr(slot, key, value)
    session.flush()
    return slot


def delete_slot(session: Session, request_id: uuid.UUID) -> None:
    session.execute(delete(Slot).where(Slot.request_id == request_id))


def unplaced_blocked_by(session: Session, request_id: uuid.UUID) -> list[uuid.UUID]:
    """Requests whose slot is ``unplaced`` naming ``request_id`` among the requests blocking them, oldest
    submission first."""
    sql = """select s.request_id from slots s join site_requests r on r.id = s.request_id
             where s.status = 'unplaced' and s.unplaced -> 'blocking' @> jsonb_build_array(cast(:rid as text))
             order by r.created_at, r.id"""
    return list(session.scalars(text(sql), {"rid": str(request_id)}))


def requests_for_update(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, SiteRequest]:
    if not ids:
        return {}
    stmt = select(SiteRequest).where(SiteRequest.id.in_(ids)).order_by(SiteRequest.id).with_for_update(
        of=SiteRequest
    )
    return {r.id: r for r in session.scalars(stmt)}


# --- reads for the adapter ----------------------------------------------------------------------

_REQUEST_COLUMNS = """
    r.id, r.owner_id, r.kind, r.impact, r.shift, r.urgency, r.status, r.version,
    r.earliest_start, r.latest_end, r.duration_days, r.preferred_start, r.bundle_with, r.created_at,
    s.start as slot_start, s."end" as slot_end, s.status as slot_status, s.provisional as slot_provisional
"""


def table_exists(session: Session, name: str) -> bool:
    return session.scalar(text("select to_regclass(:n) is not null"), {"n": f"public.{name}"})


def requests_in_scope(
    session: Session, *, bbox: tuple[float, float, float, float] | None, zone_id: str | None,
    start: date, end: date,
) -> list[Row[Any]]:
    """Plannable requests whose footprint lies in the bbox (or zone) and whose window (or slot, when it
    is fixed) overlaps ``[start, end]``."""
    where = ["r.status = any(:statuses)", "least(s.start, r.earliest_start) <= :end",
             'greatest(s."end", r.latest_end) >= :start']
    params: dict[str, Any] = {"statuses": list(PLANNABLE_STATUSES), "start": start, "end": end}
    if bbox is not None:
        where.append("st_intersects(r.geom, st_makeenvelope(:x0, :y0, :x1, :y1, 4326))")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    if zone_id is not None:
        where.append("st_intersects(r.geom, (select z.geom from zones z where z.id::text = :zone))")
        params["zone"] = zone_id
    sql = f"select {_REQUEST_COLUMNS} from site_requests r left join slots s on s.request_id = r.id " \
          f"where {' and '.join(where)} order by r.created_at, r.id"
    return list(session.execute(text(sql), params))


def requests_by_id(session: Session, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    if not ids:
        return []
    sql = f"select {_REQUEST_COLUMNS} from site_requests r left join slots s on s.request_id = r.id " \
          "where r.id = any(:ids) order by r.created_at, r.id"
    return list(session.execute(text(sql), {"ids": list(ids)}))


def hard_conflicts(
    session: Session, ids: Sequence[uuid.UUID], distances: dict[str, float], route_tolerance_m: float, *,
    start: date, end: date, whole_range: bool = False,
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """Potential hard conflicts of the requests ``ids`` with each other and with any other scheduled request
    (one with a slot), by the rules of ``service/geo/rules.py``: different owners, shifts that clash (day
    and night work do not), time ranges that overlap within ``[start, end]`` (the windows of ``ids``, the
    slots of the others), and either footprints within the larger of the two impact distances (``space``;
    none between works in the road and works on a track of their own: ``works_in_road``) or one footprint,
    with an impact other than ``none``, on the other's diversion or replacement route (``diversion``). Pairs
    come back as ``(a, b, kind)`` with ``a < b``. With ``whole_range`` the requests ``ids`` count as in place
    over all of ``[start, end]`` instead of their windows (for a wider window to try).

    The stored sites near each request are found on the GiST indexes, piece by piece of its geometries
    (:mod:`service.kit.spatial_sql`: a diversion of thousands of vertices is not checked whole against every site in
    its bounding box)."""
    if not ids:
        return []
    required = ("case when works_in_road(a.kind, a.modes) = works_in_road(b.kind, b.modes) "
                "then greatest(coalesce((cast(:dist as jsonb) ->> a.impact)::float, 0), "
                "coalesce((cast(:dist as jsonb) ->> b.impact)::float, 0)) else 0 end + 0.001")
    pair_rules = ("b.status = any(:statuses) and a.id <> b.id and a.owner_id <> b.owner_id and not ((a.shift = 'day' "
                  "and b.shift = 'night') or (a.shift = 'night' and b.shift = 'day'))")
    sql = f"""
    with a as materialized (
        select r.id as k, r.id, r.owner_id, r.kind, r.modes, r.impact, r.shift, r.earliest_start, r.latest_end,
               r.geom_utm, r.diversions_utm, r.replacement_utm
        from site_requests r where r.id = any(:ids)
    ), {pair_ctes(required=required, reach=":maxd", tol=":tol", pair_filter=pair_rules)}, b as (
        select r.id, r.impact as b_impact, case when r.id = any(:ids) then r.earliest_start else s.start end as t0,
               case when r.id = any(:ids) then r.latest_end else s."end" end as t1
        from site_requests r left join slots s on s.request_id = r.id
        where r.status = any(:statuses) and (r.id = any(:ids) or s.start is not null)
    )
    select distinct least(a.id, b.id) as x, greatest(a.id, b.id) as y,
           case when n.space_hit then 'space' else 'diversion' end as kind
    from near n join a on a.k = n.a_k join b on b.id = n.b_id
    where (n.space_hit or (a.impact <> 'none' and (n.a_on_b_div or n.a_on_b_rep))
           or (b_impact <> 'none' and (n.b_on_a_div or n.b_on_a_rep)))
      and greatest(case when :whole then :start else a.earliest_start end, b.t0, :start)
          <= least(case when :whole then :end else a.latest_end end, b.t1, :end)
    order by 1, 2
    """
    rows = session.execute(text(sql), {
        "ids": list(ids), "statuses": list(PLANNABLE_STATUSES), "dist": json.dumps(distances),
        "maxd": max(distances.values(), default=0.0) + 0.001, "tol": route_tolerance_m + 0.001,
        "start": start, "end": end, "whole": whole_range,
    })
    return [(r.x, r.y, r.kind) for r in rows]


def accepted_opportunities(session: Session, ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Dig-once pairs the owners accepted (the conflicts domain's ``opportunities``), touching ``ids``."""
    if not ids or not table_exists(session, "opportunities"):
        return []
    sql = """select o.request_a as a, o.request_b as b from opportunities o
             where o.status = 'accepted' and (o.request_a = any(:ids) or o.request_b = any(:ids))"""
    return [(r.a, r.b) for r in session.execute(text(sql), {"ids": list(ids)})]


def precedences_touching(session: Session, ids: Sequence[uuid.UUID]) -> list[Row[Any]]:
    """Stored precedences (``request_id`` comes after ``predecessor_id``, ``min_gap_days``, ``max_gap_days``) with
    one of ``ids`` at either end."""
    if not ids:
        return []
    sql = """select p.request_id, p.predecessor_id, p.min_gap_days, p.max_gap_days from request_precedences p
             where p.request_id = any(:ids) or p.predecessor_id = any(:ids)
             order by p.request_id, p.position"""
    return list(session.execute(text(sql), {"ids": list(ids)}))


# A counter-proposal holds while the request waits for a decision: contested, answered by a new proposal
# (``slot_proposed``), or back in the office's queue (``submitted``: the proposal lapsed or found no slot).
COUNTER_STATUSES = ("submitted", "slot_proposed", "contested")


def counter_proposals(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[date, date]]:
    """The counter-proposal window (``earliest_start``, ``latest_end``) of each request among ``ids`` that holds
    one: the window its owner asked for instead of a proposed slot, kept by the workflow domain in the ``after``
    of the request's latest ``contest`` history row (the row ``workflow.service.counter_proposal_json`` reads).
    It holds while the request is in :data:`COUNTER_STATUSES` and was not edited (``update``) since; a latest
    contest without a window gives nothing, and so does a database without the workflow's history table."""
    if not ids or not table_exists(session, "request_history"):
        return {}
    sql = """select distinct on (h.request_id) h.request_id,
                    h.after -> 'counter_proposal' ->> 'earliest_start' as earliest_start,
                    h.after -> 'counter_proposal' ->> 'latest_end' as latest_end,
                    exists (select 1 from request_history u where u.request_id = h.request_id and u.seq > h.seq
                            and u.action = 'update') as edited
             from request_history h join site_requests r on r.id = h.request_id
             where h.request_id = any(:ids) and r.status = any(:statuses) and h.action = 'contest'
             order by h.request_id, h.seq desc"""
    rows = session.execute(text(sql), {"ids": list(ids), "statuses": list(COUNTER_STATUSES)})
    return {r.request_id: (date.fromisoformat(r.earliest_start), date.fromisoformat(r.latest_end))
            for r in rows if r.earliest_start and r.latest_end and not r.edited}


def plan_runs_since(session: Session, since: datetime) -> list[PlanRun]:
    return list(session.scalars(select(PlanRun).where(PlanRun.created_at >= since).order_by(PlanRun.created_at)))


# --- rules of the conflicts domain (zones, corridors, moratoriums, blackouts) ----------------------

_MEMBER_SCOPE = (
    "(r.id = any(:ids) or exists (select 1 from slots s where s.request_id = r.id and s.start is not null"
    " and s.start <= :end and s.\"end\" >= :start)) and r.status = any(:statuses)"
)


def _rule_params(ids: Sequence[uuid.UUID], impact_order: dict[str, int], start: date, end: date) -> dict[str, Any]:
    return {"ids": list(ids), "order": json.dumps(impact_order), "start": start, "end": end,
            "statuses": list(PLANNABLE_STATUSES)}


def zone_members(
    session: Session, ids: Sequence[uuid.UUID], impact_order: dict[str, int], *, start: date, end: date
) -> list[Row[Any]]:
    """(zone id, capacity, request id) for every zone touching one of ``ids``: its members among ``ids`` and
    among scheduled requests (those with a slot in ``[start, end]``), impact at least the zone's min_impact."""
    if not ids:
        return []
    sql = f"""
    with touched as (
        select distinct z.id from zones z join site_requests r on st_intersects(z.geom_utm, r.geom_utm)
        where r.id = any(:ids)
    )
    select z.id as rule_id, z.capacity as capacity, r.id as request_id
    from zones z join touched t on t.id = z.id join site_requests r on st_intersects(z.geom_utm, r.geom_utm)
    where {_MEMBER_SCOPE}
      and (cast(:order as jsonb) ->> r.impact)::int >= coalesce((cast(:order as jsonb) ->> z.min_impact)::int, 0)
    order by 1, 3
    """
    return list(session.execute(text(sql), _rule_params(ids, impact_order, start, end)))


def corridor_members(
    session: Session, ids: Sequence[uuid.UUID], impact_order: dict[str, int], *, start: date, end: date
) -> list[Row[Any]]:
    """(corridor id, max_concurrent, request id) like :func:`zone_members`; a request is on a corridor when
    it touches it and stops or restricts its mode (the SQL function ``corridor_counts``, twin of
    ``service.geo.rules.counts_on_corridor``)."""
    if not ids:
        return []
    sql = f"""
    with touched as (
        select distinct c.id from corridors c
        join site_requests r on st_dwithin(c.geom_utm, r.geom_utm, c.buffer_m + 0.001)
        and corridor_counts(c.kind, c.geom_utm, c.buffer_m, r.geom_utm, r.kind, r.modes)
        where r.id = any(:ids)
    )
    select c.id as rule_id, c.max_concurrent as capacity, r.id as request_id
    from corridors c join touched t on t.id = c.id
    join site_requests r on st_dwithin(c.geom_utm, r.geom_utm, c.buffer_m + 0.001)
        and corridor_counts(c.kind, c.geom_utm, c.buffer_m, r.geom_utm, r.kind, r.modes)
    where {_MEMBER_SCOPE}
      and (cast(:order as jsonb) ->> r.impact)::int >= coalesce((cast(:order as jsonb) ->> c.min_impact)::int, 0)
    order by 1, 3
    """
    return list(session.execute(text(sql), _rule_params(ids, impact_order, start, end)))


def forbidden_periods(
    session: Session, ids: Sequence[uuid.UUID], impact_order: dict[str, int], excavating: Sequence[str], *,
    start: date, end: date,
) -> list[Row[Any]]:
    """(request id, kind, rule id, name, start, end) of every moratorium (excavating, non-emergency works
    in its area) and blackout (impact above its max_impact, in its area or everywhere when it has none)
    that applies to one of ``ids`` and overlaps ``[start, end]``."""
    if not ids:
        return []
    sql = """
    select r.id as request_id, 'moratorium' as kind, m.id as rule_id, m.name, m.start, m."end"
    from moratoriums m join site_requests r on st_intersects(m.geom_utm, r.geom_utm)
    where r.id = any(:ids) and r.kind = any(:excavating) and r.urgency <> 'emergency'
      and m.start <= :end and m."end" >= :start
    union all
    select r.id, 'blackout', b.id, b.name, b.start, b."end"
    from blackouts b join site_requests r on (b.geom_utm is null or st_intersects(b.geom_utm, r.geom_utm))
    where r.id = any(:ids) and r.urgency <> 'emergency'
      and (cast(:order as jsonb) ->> r.impact)::int > coalesce((cast(:order as jsonb) ->> b.max_impact)::int, 0)
      and b.start <= :end and b."end" >= :start
    order by 1, 5
    """
    params = _rule_params(ids, impact_order, start, end)
    params["excavating"] = list(excavating)
    return list(session.execute(text(sql), params))
