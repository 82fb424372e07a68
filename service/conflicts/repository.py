"""All SQL of the conflicts domain.

The pair queries share one shape: a CTE ``a`` holds the side being checked — one stored request
(``single``), every active request (``all``, for the set-based conflict graph) or a draft given as WKB
(``check``, nothing stored) — and is joined to ``site_requests b`` on the GiST-indexed EPSG:25832 columns
(footprint, diversions, replacement routes: ``ST_DWithin``, or for pairs of requests
:func:`service.kit.spatial_sql.pair_ctes`, which looks them up piece by piece of a detailed geometry) plus the time
overlap of the effective periods. The effective period of a request is its assigned slot (proposed, locked or
approved) where one exists, else its window.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from service.conflicts.models import (
    Blackout,
    Conflict,
    ConflictPending,
    ConflictsState,
    Corridor,
    Moratorium,
    Opportunity,
    Zone,
)
from service.geo.rules import IMPACTS, ROAD_KINDS, TOLERANCE_M, TRACK_KINDS, UTILITY_KINDS
from service.kit.spatial_sql import PIECE_VERTICES, detailed_wkb, pair_ctes
from service.map.repository import Viewer, title_sql

INACTIVE = ("withdrawn", "rejected", "completed")
SLOT_STATES = ("proposed", "locked", "approved")
PAIR_KINDS = ("space", "diversion", "same_owner")
RULE_MODELS = {"zone": Zone, "corridor": Corridor, "moratorium": Moratorium, "blackout": Blackout}
RULE_COLUMN = {"zone": "zone_id", "corridor": "corridor_id", "moratorium": "moratorium_id", "blackout": "blackout_id"}

_IMPACT_ARRAY = "ARRAY[" + ",".join(f"'{i}'" for i in IMPACTS) + "]"
_INACTIVE_SQL = "(" + ",".join(f"'{s}'" for s in INACTIVE) + ")"
_SLOT_SQL = "(" + ",".join(f"'{s}'" for s in SLOT_STATES) + ")"


def _rank(col: str) -> str:
    return f"array_position({_IMPACT_ARRAY}::text[], {col}::text)"


PUBLIC = Viewer()  # reads every title as the public does


def viewer_of(org_id: uuid.UUID | None, *, coordinator: bool) -> Viewer:
    """Who reads the titles of an answer: a coordinator reads every title as written, an organisation its own
    requests' titles as written and others' as the public does (``public_title``: without e-mail addresses, phone
    numbers and names of persons), as on the map (:func:`service.map.repository.title_sql`)."""
    return Viewer(org_id=org_id, all_=coordinator)


def _title(viewer: Viewer, alias: str, params: dict[str, Any]) -> str:
    return title_sql(viewer, alias, params, key="title_viewer")


def _list_viewer(viewer_org: uuid.UUID | None) -> Viewer:
    """The listings' convention: ``viewer_org`` None is a coordinator."""
    return viewer_of(viewer_org, coordinator=viewer_org is None)


def _slot_join(alias: str, req: str) -> str:
    return (f"LEFT JOIN slots {alias} ON {alias}.request_id = {req}.id AND {alias}.status IN {_SLOT_SQL} "
            f"AND {alias}.start IS NOT NULL AND {alias}.\"end\" IS NOT NULL")


@dataclass
class Draft:
    """The side ``a`` of a dry-run check: a request that is not stored."""

    owner_id: uuid.UUID
    kind: str
    impact: str
    shift: str
    urgency: str
    start: date
    end: date
    geom_wkb: bytes
    diversions_wkb: bytes | None = None
    modes: Sequence[str] = ()
    replacement_wkb: bytes | None = None
    exclude_id: uuid.UUID | None = None  # checking a change of a stored request: ignore the stored one


def _a_cte(mode: str, params: dict[str, Any], *, request_id: uuid.UUID | None = None,
           draft: Draft | None = None) -> str:
    cols = ("r.id, r.id AS k, r.owner_id, r.kind, r.modes, r.impact, r.shift, r.urgency, r.status, r.bundle_with, "
            "r.geom_utm, r.diversions_utm, r.replacement_utm, COALESCE(s.start, r.earliest_start) AS p_start, "
            "COALESCE(s.\"end\", r.latest_end) AS p_end, r.earliest_start AS w_start, r.latest_end AS w_end")
    if mode == "check":
        assert draft is not None
        params.update(a_owner=draft.owner_id, a_kind=draft.kind, a_impact=draft.impact, a_shift=draft.shift,
                      a_urgency=draft.urgency, a_start=draft.start, a_end=draft.end, a_geom=draft.geom_wkb,
                      a_div=draft.diversions_wkb, a_rep=draft.replacement_wkb, a_exclude=draft.exclude_id,
                      a_modes=list(draft.modes))
        return (
            "a AS MATERIALIZED (SELECT CAST(:a_exclude AS uuid) AS id, "
            "COALESCE(CAST(:a_exclude AS uuid), CAST('00000000-0000-0000-0000-000000000000' AS uuid)) AS k, "
            "CAST(:a_owner AS uuid) AS owner_id, "
            "CAST(:a_kind AS text) AS kind, CAST(:a_modes AS varchar[]) AS modes, "
            "CAST(:a_impact AS text) AS impact, "
            "CAST(:a_shift AS text) AS shift, CAST(:a_urgency AS text) AS urgency, 'submitted' AS status, "
            "CAST(ARRAY[] AS varchar[]) AS bundle_with, "
            "ST_Transform(ST_GeomFromWKB(:a_geom, 4326), 25832) AS geom_utm, "
            "ST_Transform(ST_GeomFromWKB(CAST(:a_div AS bytea), 4326), 25832) AS diversions_utm, "
            "ST_Transform(ST_GeomFromWKB(CAST(:a_rep AS bytea), 4326), 25832) AS replacement_utm, "
            "CAST(:a_start AS date) AS p_start, CAST(:a_end AS date) AS p_end, "
            "CAST(:a_start AS date) AS w_start, CAST(:a_end AS date) AS w_end)"
        )
    where = f"r.status NOT IN {_INACTIVE_SQL}"
    if mode == "single":
        params["a_id"] = request_id
        where += " AND r.id = :a_id"
    return f"a AS MATERIALIZED (SELECT {cols} FROM site_requests r {_slot_join('s', 'r')} WHERE {where})"


def _pair_filter(mode: str) -> str:
    if mode == "all":
        return "b.id::text > a.id::text"  # same order as uuid; keeps the planner off a pkey range per row
    return "(a.id IS NULL OR b.id <> a.id)"


def _detailed(session: Session, mode: str, *, request_id: uuid.UUID | None = None, draft: Draft | None = None,
              routes: bool = True) -> bool:
    """Whether the pairs of ``mode`` are looked up piece by piece (:func:`service.kit.spatial_sql.pair_ctes`): for every
    request, and for one request (or draft) with a footprint (or, with ``routes``, diversions or replacement routes)
    of more than :data:`~service.kit.spatial_sql.PIECE_VERTICES` vertices. Small geometries are checked whole, on the
    indexes too: for them that is the faster query."""
    if mode == "all":
        return True
    if mode == "check":
        assert draft is not None
        return detailed_wkb(draft.geom_wkb, *((draft.diversions_wkb, draft.replacement_wkb) if routes else ()))
    columns = "ST_NPoints(geom_utm), ST_NPoints(diversions_utm), ST_NPoints(replacement_utm)" if routes \
        else "ST_NPoints(geom_utm)"
    return bool(session.scalar(text(f"SELECT GREATEST({columns}) > :k FROM site_requests WHERE id = :id"),
                               {"k": PIECE_VERTICES, "id": request_id}))


def _distance_case(col: str, distances: Mapping[str, float], params: dict[str, Any]) -> str:
    parts = []
    for impact in IMPACTS:
        params[f"d_{impact}"] = float(distances[impact])
        parts.append(f"WHEN '{impact}' THEN CAST(:d_{impact} AS float8)")
    return f"(CASE {col} " + " ".join(parts) + " ELSE 0 END)"


def pair_candidates(
    session: Session, mode: str, *, distances: Mapping[str, float], route_tolerance_m: float,
    request_id: uuid.UUID | None = None, draft: Draft | None = None, viewer: Viewer = PUBLIC,
) -> list[Row[Any]]:
    """Pairs whose effective periods overlap and whose footprints come within the largest configured
    distance, or where one footprint touches the other's diversion or replacement route. Each row carries
    the measured distance and the per-pair SQL verdicts (``space_hit``, ``a_on_b_div``, ...), and ``b_title``
    as ``viewer`` reads it (:func:`viewer_of`; by default the public title)."""
    params: dict[str, Any] = {}
    cte = _a_cte(mode, params, request_id=request_id, draft=draft)
    params["maxd"] = max(float(v) for v in distances.values()) + TOLERANCE_M
    params["tol"] = route_tolerance_m + TOLERANCE_M
    params["eps"] = TOLERANCE_M
    da, db = _distance_case("a.impact", distances, params), _distance_case("b.impact", distances, params)
    # Works in the road and works on a track of their own need no distance: they clash where they meet.
    required = (f"CASE WHEN works_in_road(a.kind, a.modes) = works_in_road(b.kind, b.modes) "
                f"THEN GREATEST({da}, {db}) ELSE 0 END")
    columns = f"""a.id AS a_id, b.id AS b_id, a.owner_id AS a_owner, b.owner_id AS b_owner,
           {_title(viewer, "b", params)} AS b_title, b.status AS b_status,
           (SELECT o.name FROM organisations o WHERE o.id = b.owner_id) AS b_owner_name,
           a.kind AS a_kind, b.kind AS b_kind, a.impact AS a_impact, b.impact AS b_impact,
           works_in_road(a.kind, a.modes) AS a_in_road, works_in_road(b.kind, b.modes) AS b_in_road,
           a.shift AS a_shift, b.shift AS b_shift, a.p_start AS a_start, a.p_end AS a_end,
           bp.p_start AS b_start, bp.p_end AS b_end, a.bundle_with AS a_bundle, b.bundle_with AS b_bundle"""
    b_period = f"""{_slot_join('sb', 'b')}
    CROSS JOIN LATERAL (SELECT COALESCE(sb.start, b.earliest_start) AS p_start,
                               COALESCE(sb."end", b.latest_end) AS p_end) bp"""
    if not _detailed(session, mode, request_id=request_id, draft=draft):
        # one request of small geometries: the stored sites near them on the indexes, checked whole
        sql = f"""
    WITH {cte}
    SELECT {columns},
           ST_Distance(a.geom_utm, b.geom_utm) AS distance,
           ST_DWithin(a.geom_utm, b.geom_utm, {required} + :eps) AS space_hit,
           COALESCE(ST_DWithin(a.geom_utm, b.diversions_utm, :tol), false) AS a_on_b_div,
           COALESCE(ST_DWithin(a.geom_utm, b.replacement_utm, :tol), false) AS a_on_b_rep,
           COALESCE(ST_DWithin(b.geom_utm, a.diversions_utm, :tol), false) AS b_on_a_div,
           COALESCE(ST_DWithin(b.geom_utm, a.replacement_utm, :tol), false) AS b_on_a_rep
    FROM a
    JOIN site_requests b ON (
        ST_DWithin(b.geom_utm, a.geom_utm, :maxd)
        OR ST_DWithin(b.diversions_utm, a.geom_utm, :tol)
        OR ST_DWithin(b.replacement_utm, a.geom_utm, :tol)
        OR ST_DWithin(b.geom_utm, a.diversions_utm, :tol)
        OR ST_DWithin(b.geom_utm, a.replacement_utm, :tol))
    {b_period}
    WHERE b.status NOT IN {_INACTIVE_SQL} AND {_pair_filter(mode)}
      AND bp.p_start <= a.p_end AND bp.p_end >= a.p_start
    """
        return list(session.execute(text(sql), params))
    # a detailed geometry, or every request: piece by piece (service.kit.spatial_sql)
    near = pair_ctes(required=f"{required} + :eps", reach=":maxd", tol=":tol",
                     pair_filter=f"b.status NOT IN {_INACTIVE_SQL} AND {_pair_filter(mode)}")
    sql = f"""
    WITH {cte}, {near}
    SELECT {columns},
           COALESCE(n.space_d, ST_Distance(a.geom_utm, b.geom_utm)) AS distance, n.space_hit,
           n.a_on_b_div, n.a_on_b_rep, n.b_on_a_div, n.b_on_a_rep
    FROM near n JOIN a ON a.k = n.a_k JOIN site_requests b ON b.id = n.b_id
    {b_period}
    WHERE (n.space_d IS NOT NULL OR n.a_on_b_div OR n.a_on_b_rep OR n.b_on_a_div OR n.b_on_a_rep)
      AND bp.p_start <= a.p_end AND bp.p_end >= a.p_start
    """
    return list(session.execute(text(sql), params))


def opportunity_candidates(
    session: Session, mode: str, *, max_distance_m: float, months: int,
    request_id: uuid.UUID | None = None, draft: Draft | None = None, viewer: Viewer = PUBLIC,
) -> list[Row[Any]]:
    """Pairs of dig-once kinds within ``max_distance_m`` whose windows lie within ``months`` of each other;
    ``b_title`` as ``viewer`` reads it (:func:`viewer_of`; by default the public title)."""
    params: dict[str, Any] = {"dmax": max_distance_m + TOLERANCE_M, "months": months,
                              "kinds": sorted(ROAD_KINDS | UTILITY_KINDS | TRACK_KINDS)}
    cte = _a_cte(mode, params, request_id=request_id, draft=draft)
    columns = f"""a.id AS a_id, b.id AS b_id, a.owner_id AS a_owner, b.owner_id AS b_owner, b.status AS b_status,
           a.kind AS a_kind, b.kind AS b_kind, a.w_start AS a_start, a.w_end AS a_end,
           b.earliest_start AS b_start, b.latest_end AS b_end, a.bundle_with AS a_bundle,
           b.bundle_with AS b_bundle, {_title(viewer, "b", params)} AS b_title"""
    pair = f"""b.status NOT IN {_INACTIVE_SQL} AND {_pair_filter(mode)}
        AND a.kind = ANY(:kinds) AND b.kind = ANY(:kinds)
        AND b.earliest_start <= a.w_end + make_interval(months => :months)
        AND a.w_start <= b.latest_end + make_interval(months => :months)"""
    if not _detailed(session, mode, request_id=request_id, draft=draft, routes=False):
        sql = f"""
    WITH {cte}
    SELECT {columns}, ST_Distance(a.geom_utm, b.geom_utm) AS distance
    FROM a
    JOIN site_requests b ON ST_DWithin(b.geom_utm, a.geom_utm, :dmax)
    WHERE {pair}
    """
        return list(session.execute(text(sql), params))
    sql = f"""
    WITH {cte}, {pair_ctes(required=":dmax", reach=":dmax", routes=False, pair_filter=pair)}
    SELECT {columns}, n.space_d AS distance
    FROM near n JOIN a ON a.k = n.a_k JOIN site_requests b ON b.id = n.b_id
    WHERE n.space_d IS NOT NULL
    """
    return list(session.execute(text(sql), params))


# --- rule hits ----------------------------------------------------------------------------------


def moratorium_hits(
    session: Session, mode: str, *, tolerance_m: float, request_id: uuid.UUID | None = None,
    draft: Draft | None = None, moratorium_id: uuid.UUID | None = None,
) -> list[Row[Any]]:
    """(request, moratorium) with the footprint in the area and the periods overlapping. Whether the works
    are of an excavating kind and not an emergency is decided by :func:`service.geo.rules.moratorium_applies`."""
    params: dict[str, Any] = {"tol": tolerance_m + TOLERANCE_M, "mid": moratorium_id}
    cte = _a_cte(mode, params, request_id=request_id, draft=draft)
    sql = f"""
    WITH {cte}
    SELECT a.id AS request_id, a.kind, a.urgency, a.impact, m.id AS rule_id, m.name, m.reason,
           GREATEST(a.p_start, m.start) AS o_start, LEAST(a.p_end, m."end") AS o_end
    FROM a JOIN moratoriums m ON ST_DWithin(m.geom_utm, a.geom_utm, :tol)
    WHERE m.start <= a.p_end AND m."end" >= a.p_start
      AND (CAST(:mid AS uuid) IS NULL OR m.id = CAST(:mid AS uuid))
    """
    return list(session.execute(text(sql), params))


def blackout_hits(
    session: Session, mode: str, *, tolerance_m: float, request_id: uuid.UUID | None = None,
    draft: Draft | None = None, blackout_id: uuid.UUID | None = None,
) -> list[Row[Any]]:
    params: dict[str, Any] = {"tol": tolerance_m + TOLERANCE_M, "bid": blackout_id}
    cte = _a_cte(mode, params, request_id=request_id, draft=draft)
    sql = f"""
    WITH {cte}
    SELECT a.id AS request_id, a.kind, a.urgency, a.impact, k.id AS rule_id, k.name, k.max_impact,
           GREATEST(a.p_start, k.start) AS o_start, LEAST(a.p_end, k."end") AS o_end
    FROM a JOIN blackouts k ON (k.geom_utm IS NULL OR ST_DWithin(k.geom_utm, a.geom_utm, :tol))
    WHERE k.start <= a.p_end AND k."end" >= a.p_start
      AND {_rank('a.impact')} > {_rank('k.max_impact')}
      AND (CAST(:bid AS uuid) IS NULL OR k.id = CAST(:bid AS uuid))
    """
    return list(session.execute(text(sql), params))


def capacity_rules_of(
    session: Session, mode: str, *, request_id: uuid.UUID | None = None, draft: Draft | None = None
) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Corridors and zones the request counts for (on them, impact at or above the rule's threshold)."""
    params: dict[str, Any] = {"eps": TOLERANCE_M}
    cte = _a_cte(mode, params, request_id=request_id, draft=draft)
    rows = session.execute(text(f"""
        WITH {cte}
        SELECT 'corridor' AS rule, c.id FROM a JOIN corridors c ON ST_DWithin(c.geom_utm, a.geom_utm, c.buffer_m + :eps)
        AND corridor_counts(c.kind, c.geom_utm, c.buffer_m, a.geom_utm, a.kind, a.modes)
        WHERE {_rank('a.impact')} >= {_rank('c.min_impact')}
        UNION ALL
        SELECT 'zone', z.id FROM a JOIN zones z ON ST_DWithin(z.geom_utm, a.geom_utm, :eps)
        WHERE {_rank('a.impact')} >= {_rank('z.min_impact')}"""), params).all()
    return [r.id for r in rows if r.rule == "corridor"], [r.id for r in rows if r.rule == "zone"]


def rule_hits(session: Session, *, draft: Draft, tolerance_m: float) -> list[Row[Any]]:
    """For a dry run, in one round trip: moratorium and blackout hits and the corridors and zones the draft
    counts for. ``rule`` says which; the columns of :func:`moratorium_hits` / :func:`blackout_hits`."""
    params: dict[str, Any] = {"tol": tolerance_m + TOLERANCE_M, "eps": TOLERANCE_M}
    cte = _a_cte("check", params, draft=draft)
    sql = f"""
    WITH {cte}
    SELECT 'moratorium' AS rule, a.id AS request_id, a.kind, a.urgency, a.impact, m.id AS rule_id, m.name,
           m.reason, NULL AS max_impact, GREATEST(a.p_start, m.start) AS o_start, LEAST(a.p_end, m."end") AS o_end
    FROM a JOIN moratoriums m ON ST_DWithin(m.geom_utm, a.geom_utm, :tol)
    WHERE m.start <= a.p_end AND m."end" >= a.p_start
    UNION ALL
    SELECT 'blackout', a.id, a.kind, a.urgency, a.impact, k.id, k.name, NULL, k.max_impact,
           GREATEST(a.p_start, k.start), LEAST(a.p_end, k."end")
    FROM a JOIN blackouts k ON (k.geom_utm IS NULL OR ST_DWithin(k.geom_utm, a.geom_utm, :tol))
    WHERE k.start <= a.p_end AND k."end" >= a.p_start AND {_rank('a.impact')} > {_rank('k.max_impact')}
    UNION ALL
    SELECT 'corridor', a.id, a.kind, a.urgency, a.impact, c.id, c.name, NULL, NULL, NULL, NULL
    FROM a JOIN corridors c ON ST_DWithin(c.geom_utm, a.geom_utm, c.buffer_m + :eps)
        AND corridor_counts(c.kind, c.geom_utm, c.buffer_m, a.geom_utm, a.kind, a.modes)
    WHERE {_rank('a.impact')} >= {_rank('c.min_impact')}
    UNION ALL
    SELECT 'zone', a.id, a.kind, a.urgency, a.impact, z.id, z.name, NULL, NULL, NULL, NULL
    FROM a JOIN zones z ON ST_DWithin(z.geom_utm, a.geom_utm, :eps)
    WHERE {_rank('a.impact')} >= {_rank('z.min_impact')}
    """
    return list(session.execute(text(sql), params))


def capacity_members(session: Session, rule: str, rule_id: uuid.UUID) -> list[Row[Any]]:
    """Active requests counting for a corridor or zone, with their effective periods."""
    if rule == "corridor":
        join = ("corridors g JOIN site_requests r ON ST_DWithin(r.geom_utm, g.geom_utm, g.buffer_m + :eps) "
                "AND corridor_counts(g.kind, g.geom_utm, g.buffer_m, r.geom_utm, r.kind, r.modes)")
    else:
        join = "zones g JOIN site_requests r ON ST_DWithin(r.geom_utm, g.geom_utm, :eps)"
    sql = f"""
    SELECT r.id, r.owner_id, r.status, r.shift, r.bundle_with,
           COALESCE(s.start, r.earliest_start) AS p_start, COALESCE(s."end", r.latest_end) AS p_end,
           s.start IS NOT NULL AS slotted
    FROM {join} {_slot_join('s', 'r')}
    WHERE g.id = :gid AND r.status NOT IN {_INACTIVE_SQL} AND {_rank('r.impact')} >= {_rank('g.min_impact')}
    """
    return list(session.execute(text(sql), {"gid": rule_id, "eps": TOLERANCE_M}))


def slot_period(session: Session, request_id: uuid.UUID) -> tuple[date, date] | None:
    """The dates of the request's slot that counts for conflicts (proposed, locked or approved), if it has one."""
    row = session.execute(text(
        f"SELECT s.start, s.\"end\" FROM site_requests r {_slot_join('s', 'r')} "
        "WHERE r.id = :rid AND s.start IS NOT NULL"), {"rid": request_id}).first()
    return (row.start, row.end) if row is not None else None


def rule_ids_in_conflicts(session: Session, request_id: uuid.UUID) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    rows = session.execute(
        select(Conflict.corridor_id, Conflict.zone_id).where(
            (Conflict.request_a == request_id) | (Conflict.request_b == request_id),
            (Conflict.corridor_id.is_not(None)) | (Conflict.zone_id.is_not(None)),
        )
    ).all()
    return {r.corridor_id for r in rows if r.corridor_id}, {r.zone_id for r in rows if r.zone_id}


def all_rule_ids(session: Session, rule: str) -> list[uuid.UUID]:
    return list(session.scalars(select(RULE_MODELS[rule].id)))


def request_summaries(session: Session, ids: Sequence[uuid.UUID], viewer: Viewer) -> list[Row[Any]]:
    """The public summary of these requests (no description, no contact), their titles as ``viewer`` reads them."""
    if not ids:
        return []
    params: dict[str, Any] = {"ids": list(ids)}
    sql = f"""SELECT r.id, {_title(viewer, "r", params)} AS title, r.kind, r.impact, r.status, r.owner_id,
           o.name AS owner_name
    FROM site_requests r JOIN organisations o ON o.id = r.owner_id WHERE r.id = ANY(:ids)"""
    return list(session.execute(text(sql), params))


# --- conflict rows ------------------------------------------------------------------------------

COPY_COLUMNS = ("request_a", "request_b", "kind", "hard", "distance_m", "overlap_start", "overlap_end", "reason",
                "zone_id", "corridor_id", "moratorium_id", "blackout_id")


def delete_request_conflicts(session: Session, request_id: uuid.UUID) -> None:
    """This request's rows, except corridor and zone rows (those are recomputed per rule)."""
    session.execute(delete(Conflict).where(
        (Conflict.request_a == request_id) | (Conflict.request_b == request_id),
        Conflict.corridor_id.is_(None), Conflict.zone_id.is_(None),
    ))


def delete_rule_conflicts(session: Session, rule: str, rule_id: uuid.UUID) -> None:
    session.execute(delete(Conflict).where(getattr(Conflict, RULE_COLUMN[rule]) == rule_id))


def delete_all_conflicts(session: Session) -> None:
    session.execute(text("DELETE FROM conflicts"))


def insert_conflicts(session: Session, rows: Iterable[Mapping[str, Any]]) -> int:
    """Bulk insert with COPY on the session's connection (same transaction)."""
    rows = list(rows)
    if not rows:
        return 0
    session.flush()
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY conflicts ({', '.join(COPY_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([
                json.dumps(row[c], default=str) if c == "reason" else row.get(c) for c in COPY_COLUMNS
            ])
    return len(rows)


# The geometry linking two sites: a line between a point on each, or that point where the two coincide (the same
# footprint twice): a LineString of two equal points is not valid GeoJSON geometry to most readers.
_LINK = """CASE WHEN ST_Equals(ST_PointOnSurface(ra.geom), ST_PointOnSurface(rb.geom)) THEN ST_PointOnSurface(ra.geom)
                ELSE ST_MakeLine(ST_PointOnSurface(ra.geom), ST_PointOnSurface(rb.geom)) END"""


def _side_columns(viewer: Viewer, params: dict[str, Any]) -> str:
    """The conflict and both its requests (public summary), their titles as ``viewer`` reads them."""
    return f"""
    c.id, c.request_a, c.request_b, c.kind, c.hard, c.distance_m, c.overlap_start, c.overlap_end, c.reason,
    c.zone_id, c.corridor_id, c.moratorium_id, c.blackout_id,
    {_title(viewer, "ra", params)} AS a_title, ra.kind AS a_kind, ra.impact AS a_impact, ra.status AS a_status,
    ra.owner_id AS a_owner, oa.name AS a_owner_name,
    {_title(viewer, "rb", params)} AS b_title, rb.kind AS b_kind, rb.impact AS b_impact, rb.status AS b_status,
    rb.owner_id AS b_owner, ob.name AS b_owner_name
"""
_SIDE_JOINS = """
    FROM conflicts c
    JOIN site_requests ra ON ra.id = c.request_a JOIN organisations oa ON oa.id = ra.owner_id
    LEFT JOIN site_requests rb ON rb.id = c.request_b LEFT JOIN organisations ob ON ob.id = rb.owner_id
"""


def conflicts_of(session: Session, request_id: uuid.UUID, *, viewer_org: uuid.UUID | None) -> list[Row[Any]]:
    """The request's conflicts; titles as ``viewer_org`` reads them (None = a coordinator)."""
    params: dict[str, Any] = {"rid": request_id}
    sql = f"""SELECT {_side_columns(_list_viewer(viewer_org), params)} {_SIDE_JOINS}
    WHERE c.request_a = :rid OR c.request_b = :rid ORDER BY c.hard DESC, c.overlap_start, c.id"""
    return list(session.execute(text(sql), params))


def list_conflicts(
    session: Session, *, viewer_org: uuid.UUID | None, bbox: tuple[float, float, float, float] | None,
    start: date | None, end: date | None, kinds: Sequence[str], owners: Sequence[uuid.UUID], hard: bool | None,
    after: int | None, limit: int,
) -> list[Row[Any]]:
    """Conflicts with a connecting line (pairs) or the site's point (rules) as GeoJSON. ``viewer_org`` None =
    coordinator; otherwise rows involving another organisation's draft are left out, and other organisations'
    titles are their public titles."""
    conds: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if viewer_org is not None:
        conds.append("(ra.status <> 'draft' OR ra.owner_id = :viewer) "
                     "AND (rb.id IS NULL OR rb.status <> 'draft' OR rb.owner_id = :viewer)")
        params["viewer"] = viewer_org
    if bbox is not None:
        conds.append("(ra.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) "
                     "OR rb.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    if start is not None:
        conds.append("c.overlap_end >= :start")
        params["start"] = start
    if end is not None:
        conds.append("c.overlap_start <= :end")
        params["end"] = end
    if kinds:
        conds.append("c.kind = ANY(:kinds)")
        params["kinds"] = list(kinds)
    if owners:
        conds.append("(ra.owner_id = ANY(:owners) OR rb.owner_id = ANY(:owners))")
        params["owners"] = list(owners)
    if hard is not None:
        conds.append("c.hard = :hard")
        params["hard"] = hard
    if after is not None:
        conds.append("c.id > :after")
        params["after"] = after
    sql = f"""SELECT {_side_columns(_list_viewer(viewer_org), params)},
        ST_AsGeoJSON(CASE WHEN rb.id IS NULL THEN ST_PointOnSurface(ra.geom) ELSE {_LINK} END, 7) AS line
        {_SIDE_JOINS} WHERE {' AND '.join(conds)} ORDER BY c.id LIMIT :limit"""
    return list(session.execute(text(sql), params))


def pair_counts(session: Session) -> list[Row[Any]]:
    """Distinct pairs (or request/rule rows) per kind and hardness."""
    return list(session.execute(text("""
        SELECT kind, hard, count(DISTINCT (request_a, request_b, COALESCE(zone_id, corridor_id, moratorium_id,
               blackout_id))) AS n FROM conflicts GROUP BY kind, hard ORDER BY kind, hard""")))


def pair_totals(session: Session) -> Row[Any]:
    """Distinct request pairs with at least one hard conflict / only same-owner information."""
    return session.execute(text("""
        WITH p AS (SELECT request_a, request_b, bool_or(hard) AS hard FROM conflicts
                   WHERE request_b IS NOT NULL GROUP BY request_a, request_b)
        SELECT count(*) FILTER (WHERE hard) AS hard_pairs, count(*) FILTER (WHERE NOT hard) AS info_pairs,
               (SELECT count(DISTINCT request_a) FROM conflicts WHERE request_b IS NULL) AS rule_requests
        FROM p""")).one()


# --- what the stored conflicts follow -----------------------------------------------------------

# Full refreshes (worker, CLI, demo load, large plan runs) hold this transaction-scoped advisory lock exclusively, so
# two of them never rebuild the graph at once: the second waits and then sees the first one's rows and state.
# Recomputing one request's or one rule's conflicts holds it shared (never waiting for it: see the service), so a
# full refresh starts only after those transactions have ended, and sees what they committed.
# Advisory locks are re-entrant within a session, and a session's own locks never conflict with each other: a
# transaction holding the exclusive lock gets the shared one at once (a plan run that refreshes a few requests),
# and one holding the shared lock may take the exclusive one when no other transaction holds the shared one.
_FULL_REFRESH_LOCK = func.hashtextextended("baustellen.conflicts.full_refresh", 0)


def lock_full_refresh(session: Session, *, wait: bool) -> bool:
    """Take the full-refresh lock until the transaction ends; without ``wait``, only when it is free."""
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(_FULL_REFRESH_LOCK)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_FULL_REFRESH_LOCK))))


def lock_refresh_shared(session: Session, *, wait: bool) -> bool:
    """The full-refresh lock's shared side until the transaction ends. Without ``wait`` it is refused while a full
    refresh holds the lock or waits for it (PostgreSQL queues a new shared request behind a waiting exclusive one),
    unless this transaction holds it already."""
    if wait:
        session.execute(select(func.pg_advisory_xact_lock_shared(_FULL_REFRESH_LOCK)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock_shared(_FULL_REFRESH_LOCK))))


# Recomputing one request or one rule (``refresh_for_request``, ``refresh_rule``, the drain, a rule's deletion) holds
# this transaction-scoped advisory lock exclusively, after the shared side of the full-refresh lock: one at a time, so
# each recomputation starts after the previous one committed and sees its rows (deletes them, does not add its pairs a
# second time) and the change of the request or rule it was made for. Holding it implies holding the full-refresh lock
# (either side), so a full refresh never meets it. Its key in ``pg_locks``: ``classid`` the high, ``objid`` the low 32
# bits of the 64-bit key, ``objsubid`` 1.
_SINGLE_REFRESH_KEY = "baustellen.conflicts.single_refresh"
_SINGLE_REFRESH_LOCK = func.hashtextextended(_SINGLE_REFRESH_KEY, 0)


def lock_single_refresh(session: Session, *, wait: bool) -> bool:
    """Take the single-recomputation lock until the transaction ends; without ``wait``, only when it is free (or
    this transaction holds it already)."""
    if wait:
        session.execute(select(func.pg_advisory_xact_lock(_SINGLE_REFRESH_LOCK)))
        return True
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(_SINGLE_REFRESH_LOCK))))


def single_refresh_holder_waits_for_us(session: Session) -> bool:
    """Whether the transaction holding the single-recomputation lock waits for a lock this transaction holds,
    directly or through a chain of waiting transactions (a few links deep). Then waiting for it would never end
    (or end in a deadlock): typically it inserts a conflict naming a request whose row this transaction has
    locked ``FOR UPDATE``, and the foreign key check needs that row's ``KEY SHARE`` lock."""
    return bool(session.scalar(text("""
        WITH RECURSIVE k AS (SELECT hashtextextended(:key, 0) AS key),
        chain (pid, depth) AS (
            SELECT l.pid, 0 FROM pg_locks l CROSS JOIN k
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
            UNION
            SELECT b.pid, c.depth + 1 FROM chain c CROSS JOIN LATERAL unnest(pg_blocking_pids(c.pid)) AS b (pid)
            WHERE c.depth < 6)
        SELECT EXISTS (SELECT 1 FROM chain WHERE pid = pg_backend_pid() AND depth > 0)"""),
        {"key": _SINGLE_REFRESH_KEY}))


def get_state(session: Session) -> Row[Any] | None:
    """``rules_revision``, ``config_hash``, ``computed_at`` of the one state row (read afresh, never cached)."""
    return session.execute(select(ConflictsState.rules_revision, ConflictsState.config_hash,
                                  ConflictsState.computed_at).where(ConflictsState.id == 1)).first()


def put_state(session: Session, *, rules_revision: int, config_hash: str, computed_at: datetime) -> None:
    values = {"rules_revision": rules_revision, "config_hash": config_hash, "computed_at": computed_at}
    stmt = pg_insert(ConflictsState).values(id=1, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=[ConflictsState.id], set_=values))


# --- changes made while a full refresh ran -----------------------------------------------------------

_TARGET_TABLES = {"request": "site_requests", **{rule: model.__tablename__ for rule, model in RULE_MODELS.items()}}


def queue_pending(session: Session, kind: str, target_id: uuid.UUID) -> None:
    """Record that the conflicts of a request (``kind = 'request'``) or a rule must be recomputed. A plain insert
    into an append-only table: it never waits for another transaction."""
    session.execute(pg_insert(ConflictPending).values(kind=kind, target_id=target_id))


def clear_pending(session: Session) -> int:
    """Forget every queued change this statement sees (committed ones and this transaction's): a full refresh
    holding its lock calls it before reading anything, so it computes from those changes itself."""
    return session.execute(delete(ConflictPending)).rowcount or 0


def pending_count(session: Session) -> int:
    """How many requests and rules wait for their conflicts to be recomputed."""
    return int(session.scalar(text(
        "SELECT count(*) FROM (SELECT DISTINCT kind, target_id FROM conflicts_pending) t")) or 0)


def pending_targets(session: Session, limit: int) -> list[Row[Any]]:
    """``kind``, ``target_id`` of the queued requests and rules, the longest waiting first."""
    return list(session.execute(text(
        "SELECT kind, target_id FROM conflicts_pending GROUP BY kind, target_id ORDER BY min(id) LIMIT :n"),
        {"n": limit}))


def lock_pending_target(session: Session, kind: str, target_id: uuid.UUID) -> bool:
    """One drain at a time per request or rule (two recomputing one request at once could store its rows twice):
    a transaction-scoped advisory lock on the target, taken only when it is free."""
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(
        func.hashtextextended(f"baustellen.conflicts.pending:{kind}:{target_id}", 0)))))


def claim_pending(session: Session, kind: str, target_id: uuid.UUID) -> list[int]:
    """The queued rows of one target committed so far, locked (``FOR UPDATE SKIP LOCKED``) until the transaction
    ends. Rows queued after this read stay for the next round."""
    return list(session.scalars(
        select(ConflictPending.id).where(ConflictPending.kind == kind, ConflictPending.target_id == target_id)
        .order_by(ConflictPending.id).with_for_update(skip_locked=True)))


def delete_pending(session: Session, ids: Sequence[int]) -> None:
    session.execute(delete(ConflictPending).where(ConflictPending.id.in_(list(ids))))


def share_target(session: Session, kind: str, target_id: uuid.UUID) -> str:
    """Lock the request's or rule's row ``FOR SHARE`` without waiting, so a change of it in flight has committed
    before its conflicts are recomputed (and the next one waits for that): ``locked``, ``busy`` (a transaction
    changing it holds the row) or ``missing`` (deleted: recomputing drops its rows)."""
    table = _TARGET_TABLES[kind]
    got = session.scalar(text(f"SELECT id FROM {table} WHERE id = :id FOR SHARE SKIP LOCKED"), {"id": target_id})
    if got is not None:
        return "locked"
    exists = session.scalar(text(f"SELECT true FROM {table} WHERE id = :id"), {"id": target_id})
    return "busy" if exists else "missing"


def set_lock_timeout(session: Session, milliseconds: int) -> None:
    """Give up waiting for a row lock after this long, for the rest of the transaction."""
    session.execute(text(f"SET LOCAL lock_timeout = {int(milliseconds)}"))


# --- opportunities ------------------------------------------------------------------------------


def accepted_pairs(session: Session, request_id: uuid.UUID | None = None) -> set[frozenset[uuid.UUID]]:
    stmt = select(Opportunity.request_a, Opportunity.request_b).where(Opportunity.status == "accepted")
    if request_id is not None:
        stmt = stmt.where((Opportunity.request_a == request_id) | (Opportunity.request_b == request_id))
    return {frozenset((a, b)) for a, b in session.execute(stmt)}


def delete_open_opportunities(session: Session, request_id: uuid.UUID | None, keep: set[tuple]) -> None:
    stmt = select(Opportunity.id, Opportunity.request_a, Opportunity.request_b).where(Opportunity.status == "open")
    if request_id is not None:
        stmt = stmt.where((Opportunity.request_a == request_id) | (Opportunity.request_b == request_id))
    stale = [oid for oid, a, b in session.execute(stmt) if (a, b) not in keep]
    for i in range(0, len(stale), 5000):
        # still open: one accepted meanwhile (the delete waited for that transaction) is kept
        session.execute(delete(Opportunity).where(Opportunity.id.in_(stale[i:i + 5000]),
                                                  Opportunity.status == "open"))


def upsert_opportunities(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    if not rows:
        return
    from sqlalchemy.dialects.postgresql import insert

    for i in range(0, len(rows), 2000):
        stmt = insert(Opportunity).values([dict(r, id=uuid.uuid4(), status="open") for r in rows[i:i + 2000]])
        stmt = stmt.on_conflict_do_update(
            constraint="uq_opportunities_pair",
            set_={"distance_m": stmt.excluded.distance_m, "gap_days": stmt.excluded.gap_days},
        )
        session.execute(stmt)


def get_opportunity(session: Session, opportunity_id: uuid.UUID, *, for_update: bool = False) -> Opportunity | None:
    stmt = select(Opportunity).where(Opportunity.id == opportunity_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def accept_opportunity(session: Session, opp: Opportunity, org_id: uuid.UUID, at: datetime) -> None:
    session.execute(update(Opportunity).where(Opportunity.id == opp.id).values(
        status="accepted", accepted_by=org_id, accepted_at=at))
    session.refresh(opp)


def list_opportunities(
    session: Session, *, viewer_org: uuid.UUID | None, status: str | None, owners: Sequence[uuid.UUID],
    bbox: tuple[float, float, float, float] | None, limit: int, after: tuple[str, float, uuid.UUID] | None = None,
) -> list[Row[Any]]:
    """Dig-once pairs, accepted then open, each nearest first; ``after`` (status, distance_m, id) of the last row of
    the previous page. ``viewer_org`` None = coordinator, otherwise others' drafts are left out and other
    organisations' titles are their public titles."""
    conds: list[str] = ["true"]
    params: dict[str, Any] = {"limit": limit}
    if viewer_org is not None:
        conds.append("(ra.status <> 'draft' OR ra.owner_id = :viewer) "
                     "AND (rb.status <> 'draft' OR rb.owner_id = :viewer)")
        params["viewer"] = viewer_org
    if status:
        conds.append("o.status = :status")
        params["status"] = status
    if owners:
        conds.append("(ra.owner_id = ANY(:owners) OR rb.owner_id = ANY(:owners))")
        params["owners"] = list(owners)
    if bbox is not None:
        conds.append("(ra.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) "
                     "OR rb.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
    if after is not None:
        conds.append("(o.status, o.distance_m, o.id) > (:after_status, :after_distance, :after_id)")
        params.update(after_status=after[0], after_distance=after[1], after_id=after[2])
    viewer = _list_viewer(viewer_org)
    sql = f"""
    SELECT o.id, o.request_a, o.request_b, o.distance_m, o.gap_days, o.status, o.accepted_at,
           {_title(viewer, "ra", params)} AS a_title, ra.kind AS a_kind, oa.name AS a_owner_name,
           ra.owner_id AS a_owner,
           ra.earliest_start AS a_start, ra.latest_end AS a_end,
           {_title(viewer, "rb", params)} AS b_title, rb.kind AS b_kind, ob.name AS b_owner_name,
           rb.owner_id AS b_owner,
           rb.earliest_start AS b_start, rb.latest_end AS b_end,
           ST_AsGeoJSON({_LINK}, 7) AS line
    FROM opportunities o
    JOIN site_requests ra ON ra.id = o.request_a JOIN organisations oa ON oa.id = ra.owner_id
    JOIN site_requests rb ON rb.id = o.request_b JOIN organisations ob ON ob.id = rb.owner_id
    WHERE ra.status NOT IN {_INACTIVE_SQL} AND rb.status NOT IN {_INACTIVE_SQL} AND {' AND '.join(conds)}
    ORDER BY o.status, o.distance_m, o.id LIMIT :limit"""
    return list(session.execute(text(sql), params))


# --- rules CRUD ---------------------------------------------------------------------------------


def add_rule(session: Session, rule: Any) -> Any:
    session.add(rule)
    session.flush()
    session.refresh(rule)
    return rule


def get_rule(session: Session, rule: str, rule_id: uuid.UUID, *, for_update: bool = False) -> Any:
    stmt = select(RULE_MODELS[rule]).where(RULE_MODELS[rule].id == rule_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def get_rule_by_name(session: Session, rule: str, name: str) -> Any:
    """The rule of this type whose name equals ``name`` regardless of case (as the unique index compares)."""
    model = RULE_MODELS[rule]
    return session.scalar(select(model).where(func.lower(model.name) == func.lower(name)))


def list_rules(session: Session, rule: str) -> list[Any]:
    model = RULE_MODELS[rule]
    return list(session.scalars(select(model).order_by(model.name)))


def delete_rule(session: Session, obj: Any) -> None:
    session.delete(obj)
    session.flush()
