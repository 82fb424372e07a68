"""All SQL of the map: OGC API Features collections and Mapbox vector tiles.

Features are built as JSON text by PostgreSQL (``json_build_object``) and stitched into the response
without being parsed in Python: an items page of 1,000 sites stays cheap.

The sites and routes collections read the foundation's tables (``site_requests``, ``slots``). The rule
layers (zones, corridors, moratoriums, blackouts) and the pair layers (conflicts, opportunities) read the
tables of the conflicts domain; their columns are discovered from the catalogue (geometry column, date
columns, the two foreign keys to ``site_requests``) so the map keeps working while that domain evolves.
A missing table is an empty collection, never an error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from service.kit.spatial_sql import geojson_sql

# A slot counts for "when is the site set up" when the solver proposed it, a coordinator locked it or the
# workflow approved it; otherwise the requested window is used.
EFFECTIVE_START = (
    "CASE WHEN s.status IN ('proposed','locked','approved') AND s.start IS NOT NULL "
    "THEN s.start ELSE r.earliest_start END"
)
EFFECTIVE_END = (
    "CASE WHEN s.status IN ('proposed','locked','approved') AND s.\"end\" IS NOT NULL "
    "THEN s.\"end\" ELSE r.latest_end END"
)

SITE_FROM = (
    "site_requests r JOIN organisations o ON o.id = r.owner_id "
    "LEFT JOIN slots s ON s.request_id = r.id"
)

def site_properties(title: str) -> str:
    """The JSON properties of a site, its title read by the SQL expression ``title`` (:func:`title_sql`).
    ``point``: [lon, lat] of a point on the site (ST_PointOnSurface, the end of its conflict lines): where the page
    draws the site as a marker when zoomed out (a 30 m site is less than a pixel below zoom 12)."""
    return f"""json_build_object(
    'id', r.id, 'title', {title}, 'status', r.status, 'kind', r.kind, 'impact', r.impact,
    'modes', r.modes, 'shift', r.shift, 'urgency', r.urgency,
    'owner', o.name, 'owner_id', o.id, 'owner_kind', o.kind,
    'earliest_start', r.earliest_start, 'latest_end', r.latest_end, 'duration_days', r.duration_days,
    'preferred_start', r.preferred_start,
    'slot_status', s.status, 'slot_start', s.start, 'slot_end', s."end",
    'start', {EFFECTIVE_START}, 'end', {EFFECTIVE_END},
    'has_diversions', r.diversions_geom IS NOT NULL OR r.replacement_geom IS NOT NULL,
    'point', ST_AsGeoJSON(ST_PointOnSurface(r.geom), 7)::json -> 'coordinates')"""


@dataclass(frozen=True)
class Viewer:
    """Who looks: ``None`` org = the public; ``all_`` = a coordinator (sees drafts of everybody)."""

    org_id: uuid.UUID | None = None
    all_: bool = False


@dataclass
class SiteFilter:
    bbox: tuple[float, float, float, float] | None = None
    start: date | None = None
    end: date | None = None
    statuses: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    impacts: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    ids: tuple[uuid.UUID, ...] = ()


def _visibility(viewer: Viewer, alias: str, params: dict[str, Any], key: str = "viewer_org") -> str:
    if viewer.all_:
        return "TRUE"
    if viewer.org_id is None:
        return f"{alias}.status <> 'draft'"
    params[key] = viewer.org_id
    return f"({alias}.status <> 'draft' OR {alias}.owner_id = :{key})"


def title_sql(viewer: Viewer, alias: str, params: dict[str, Any], key: str = "title_org") -> str:
    """How ``viewer`` reads the title of site ``alias``: as written for coordinators and the owner, else the
    stored public title (``public_title``: without e-mail addresses, phone numbers and names of persons, as the
    open data feeds publish it)."""
    if viewer.all_:
        return f"{alias}.title"
    if viewer.org_id is None:
        return f"{alias}.public_title"
    params[key] = viewer.org_id
    return f"(CASE WHEN {alias}.owner_id = :{key} THEN {alias}.title ELSE {alias}.public_title END)"


def _site_where(viewer: Viewer, f: SiteFilter, params: dict[str, Any]) -> str:
    conds = [_visibility(viewer, "r", params)]
    if f.bbox is not None:
        params.update(x0=f.bbox[0], y0=f.bbox[1], x1=f.bbox[2], y1=f.bbox[3])
        conds.append("r.geom && ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326) "
                     "AND ST_Intersects(r.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326))")
    if f.start is not None:
        params["dt_start"] = f.start
        conds.append(f"{EFFECTIVE_END} >= :dt_start")
    if f.end is not None:
        params["dt_end"] = f.end
        conds.append(f"{EFFECTIVE_START} <= :dt_end")
    for name, column, values in (("st", "r.status", f.statuses), ("kd", "r.kind", f.kinds),
                                 ("im", "r.impact", f.impacts), ("ow", "o.name", f.owners)):
        if values:
            params[name] = list(values)
            conds.append(f"{column} = ANY(:{name})")
    if f.ids:
        params["ids"] = list(f.ids)
        conds.append("r.id = ANY(:ids)")
    return " AND ".join(conds)


# --- sites ---------------------------------------------------------------------------------------


def site_features(
    session: Session, viewer: Viewer, f: SiteFilter, *, limit: int, offset: int
) -> tuple[int, list[str]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    where = _site_where(viewer, f, params)
    matched = session.execute(text(f"SELECT count(*) FROM {SITE_FROM} WHERE {where}"), params).scalar_one()
    rows = session.execute(text(f"""
        SELECT json_build_object('type', 'Feature', 'id', r.id,
                                 'geometry', {geojson_sql("r.geom")}::json,
                                 'properties', {site_properties(title_sql(viewer, "r", params))})::text
        FROM {SITE_FROM} WHERE {where}
        ORDER BY r.created_at, r.id LIMIT :limit OFFSET :offset"""), params).scalars().all()
    return int(matched), list(rows)


# Statuses the page hides by default: the start extent leaves them out (unless nothing else is there).
HIDDEN_AT_START = ("rejected", "completed", "withdrawn")


def site_extent(session: Session, viewer: Viewer) -> tuple[list[float] | None, list[str | None]]:
    """The start extent of the page (the sites it shows by default; all if there are none) and the interval
    of all sites' effective dates (the slider reaches every site)."""
    params: dict[str, Any] = {"hidden": list(HIDDEN_AT_START)}
    where = _visibility(viewer, "r", params)
    row = session.execute(text(f"""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), lo, hi FROM (
            SELECT coalesce(ST_Extent(r.geom) FILTER (WHERE r.status <> ALL(:hidden)), ST_Extent(r.geom)) AS e,
                   min({EFFECTIVE_START}) AS lo, max({EFFECTIVE_END}) AS hi
            FROM {SITE_FROM} WHERE {where}) q"""), params).one()
    bbox = [row[0], row[1], row[2], row[3]] if row[0] is not None else None
    return bbox, [row[4].isoformat() if row[4] else None, row[5].isoformat() if row[5] else None]


def owners(session: Session, viewer: Viewer) -> list[str]:
    params: dict[str, Any] = {}
    where = _visibility(viewer, "r", params)
    return list(session.execute(text(
        f"SELECT DISTINCT o.name FROM {SITE_FROM} WHERE {where} ORDER BY o.name"), params).scalars())


# --- routes (diversions and rail-replacement bus routes) -----------------------------------------


def route_features(
    session: Session, viewer: Viewer, f: SiteFilter, *, limit: int, offset: int
) -> tuple[int, list[str]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    where = _site_where(viewer, SiteFilter(start=f.start, end=f.end, statuses=f.statuses, kinds=f.kinds,
                                           impacts=f.impacts, owners=f.owners, ids=f.ids), params)
    bbox_cond = "TRUE"
    if f.bbox is not None:
        params.update(bx0=f.bbox[0], by0=f.bbox[1], bx1=f.bbox[2], by1=f.bbox[3])
        bbox_cond = "ST_Intersects(q.geom, ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326))"
    base = f"""
        SELECT q.* FROM (
            SELECT r.id || ':' || k.kind AS fid, r.id AS site_id, {title_sql(viewer, "r", params)} AS title,
                   r.status, r.impact, k.kind,
                   {EFFECTIVE_START} AS start, {EFFECTIVE_END} AS "end", k.geom, r.created_at
            FROM {SITE_FROM}
            CROSS JOIN LATERAL (VALUES ('diversion', r.diversions_geom), ('replacement', r.replacement_geom))
                AS k(kind, geom)
            WHERE k.geom IS NOT NULL AND {where}) q
        WHERE {bbox_cond}"""
    matched = session.execute(text(f"SELECT count(*) FROM ({base}) c"), params).scalar_one()
    rows = session.execute(text(f"""
        SELECT json_build_object('type', 'Feature', 'id', b.fid, 'geometry', {geojson_sql("b.geom")}::json,
            'properties', json_build_object('id', b.fid, 'site_id', b.site_id, 'route_kind', b.kind,
                'title', b.title, 'status', b.status, 'impact', b.impact, 'start', b.start, 'end', b."end"))::text
        FROM ({base}) b ORDER BY b.created_at, b.fid LIMIT :limit OFFSET :offset"""), params).scalars().all()
    return int(matched), list(rows)


# --- catalogue discovery for the tables of other domains -----------------------------------------


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: dict[str, str]  # name -> udt name (geometry, date, timestamptz, uuid, ...)
    geometry: str | None  # the EPSG:4326 geometry column
    hidden: tuple[str, ...]  # geometry columns not to put into properties
    start: str | None
    end: str | None
    site_refs: tuple[str, ...]  # columns referencing site_requests.id
    order: str


_START_NAMES = ("start", "starts", "start_date", "starts_on", "valid_from", "date_from", "from", "period_start",
                "overlap_start", "begin")
_END_NAMES = ("end", "ends", "end_date", "ends_on", "valid_to", "valid_until", "date_to", "to", "until",
              "period_end", "overlap_end")


def table_info(session: Session, name: str) -> TableInfo | None:
    """What the map needs to know about another domain's table, or ``None`` if it does not exist."""
    cols = session.execute(text("""
        SELECT a.attname, t.typname, coalesce(postgis_typmod_srid(a.atttypmod), 0)
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = to_regclass(:n) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"""),
        {"n": f"public.{name}"}).all()
    if not cols:
        return None
    columns = {c[0]: c[1] for c in cols}
    geoms = [c[0] for c in cols if c[1] == "geometry"]
    geom4326 = [c[0] for c in cols if c[1] == "geometry" and c[2] in (4326, 0)]
    preferred = [g for g in geom4326 if g in ("geom", "geometry")]
    geometry = (preferred or geom4326 or [None])[0]
    dates = [c for c, t in columns.items() if t in ("date", "timestamptz", "timestamp")]
    start = next((c for n in _START_NAMES for c in dates if c == n), None)
    end = next((c for n in _END_NAMES for c in dates if c == n), None)
    refs = session.execute(text("""
        SELECT a.attname FROM pg_constraint k
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey)
        WHERE k.conrelid = to_regclass(:n) AND k.contype = 'f' AND k.confrelid = 'site_requests'::regclass
        ORDER BY a.attnum"""), {"n": f"public.{name}"}).scalars().all()
    order = "id" if "id" in columns else next(iter(columns))
    return TableInfo(name=name, columns=columns, geometry=geometry, hidden=tuple(geoms), start=start, end=end,
                     site_refs=tuple(refs), order=order)


def _q(ident: str) -> str:
    return '"' + ident.replace('"', '""') + '"'


def _props(info: TableInfo, alias: str) -> str:
    expr = f"to_jsonb({alias})"
    for col in info.hidden:
        expr += f" - '{col}'"
    return expr


def _period_conds(info: TableInfo, alias: str, start: date | None, end: date | None,
                  params: dict[str, Any]) -> list[str]:
    conds = []
    if start is not None and info.end:
        params["p_start"] = start
        conds.append(f"({alias}.{_q(info.end)} IS NULL OR {alias}.{_q(info.end)}::date >= :p_start)")
    if end is not None and info.start:
        params["p_end"] = end
        conds.append(f"({alias}.{_q(info.start)} IS NULL OR {alias}.{_q(info.start)}::date <= :p_end)")
    return conds


def rule_features(
    session: Session, info: TableInfo, *, bbox: tuple[float, float, float, float] | None, start: date | None,
    end: date | None, limit: int, offset: int, fid: str | None = None,
) -> tuple[int, list[str]]:
    """Zones, corridors, moratoriums, blackouts: public planning rules with an area or a line."""
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    conds = _period_conds(info, "t", start, end, params)
    geom = f"t.{_q(info.geometry)}" if info.geometry else "NULL::geometry"
    if bbox is not None and info.geometry:
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
        # A rule without a geometry (a blackout for the whole region) matches every bbox.
        conds.append(f"({geom} IS NULL OR ST_Intersects({geom}, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))")
    if fid is not None:
        params["fid"] = fid
        conds.append(f"t.{_q(info.order)}::text = :fid")
    where = " AND ".join(conds) or "TRUE"
    matched = session.execute(text(f"SELECT count(*) FROM {_q(info.name)} t WHERE {where}"), params).scalar_one()
    rows = session.execute(text(f"""
        SELECT json_build_object('type', 'Feature', 'id', t.{_q(info.order)},
            'geometry', {geojson_sql(geom)}::json, 'properties', {_props(info, 't')})::text
        FROM {_q(info.name)} t WHERE {where} ORDER BY t.{_q(info.order)} LIMIT :limit OFFSET :offset"""),
        params).scalars().all()
    return int(matched), list(rows)


PAIR_GEOM = ("CASE WHEN b.id IS NULL THEN ST_PointOnSurface(a.geom) "
             "ELSE ST_MakeLine(ST_PointOnSurface(a.geom), ST_PointOnSurface(b.geom)) END")
# The same line from the stored Web Mercator points, for tiles.
PAIR_GEOM_3857 = "CASE WHEN b.id IS NULL THEN a.point_3857 ELSE ST_MakeLine(a.point_3857, b.point_3857) END"


def pair_features(
    session: Session, info: TableInfo, viewer: Viewer, *, bbox: tuple[float, float, float, float] | None,
    start: date | None, end: date | None, site: uuid.UUID | None, kinds: tuple[str, ...], limit: int,
    offset: int, fid: str | None = None,
) -> tuple[int, list[str]]:
    """Conflicts and dig-once opportunities: pairs of sites, drawn as a line joining the two sites (a conflict
    of one site with a rule, a moratorium or a blackout, is drawn as a point on the site). Only pairs whose
    sites the viewer may see are returned."""
    if len(info.site_refs) < 2:
        return 0, []
    ca, cb = _q(info.site_refs[0]), _q(info.site_refs[1])
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    conds = [_visibility(viewer, "a", params, "va"), f"(b.id IS NULL OR {_visibility(viewer, 'b', params, 'vb')})"]
    conds += _period_conds(info, "t", start, end, params)
    if site is not None:
        params["site"] = site
        conds.append(f"(t.{ca} = :site OR t.{cb} = :site)")
    if kinds and "kind" in info.columns:
        params["kinds"] = list(kinds)
        conds.append("t.kind = ANY(:kinds)")
    if bbox is not None:
        params.update(x0=bbox[0], y0=bbox[1], x1=bbox[2], y1=bbox[3])
        conds.append("(ST_Intersects(a.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)) "
                     "OR ST_Intersects(b.geom, ST_MakeEnvelope(:x0, :y0, :x1, :y1, 4326)))")
    if fid is not None:
        params["fid"] = fid
        conds.append(f"t.{_q(info.order)}::text = :fid")
    where = " AND ".join(conds)
    # The rule a conflict is about (zone, corridor, moratorium, blackout) by name, for the map's sentences; the
    # members of a capacity peak are left out: they may name sites (drafts) the viewer does not see.
    extra = ""
    if info.columns.get("reason") == "jsonb":
        extra = (", 'reason', coalesce(t.reason, '{}'::jsonb) - 'peak_members', "
                 "'rule_name', t.reason -> 'rule' ->> 'name'")
    base = (f"{_q(info.name)} t JOIN site_requests a ON a.id = t.{ca} LEFT JOIN site_requests b ON b.id = t.{cb} "
            f"JOIN organisations oa ON oa.id = a.owner_id LEFT JOIN organisations ob ON ob.id = b.owner_id")
    matched = session.execute(text(f"SELECT count(*) FROM {base} WHERE {where}"), params).scalar_one()
    rows = session.execute(text(f"""
        SELECT json_build_object('type', 'Feature', 'id', t.{_q(info.order)},
            'geometry', ST_AsGeoJSON({PAIR_GEOM}, 7)::json,
            'properties', {_props(info, 't')} || jsonb_build_object(
                'site_a', a.id, 'site_b', b.id, 'title_a', {title_sql(viewer, "a", params)},
                'title_b', {title_sql(viewer, "b", params)},
                'owner_a', oa.name, 'owner_b', ob.name, 'status_a', a.status, 'status_b', b.status{extra}))::text
        FROM {base} WHERE {where} ORDER BY t.{_q(info.order)} LIMIT :limit OFFSET :offset"""),
        params).scalars().all()
    return int(matched), list(rows)


# --- timeline of a zone or corridor -------------------------------------------------------------

_RULE_MATCH = {
    "zones": "ST_Intersects(r.geom_utm, g.geom_utm)",
    # the sites that count on the corridor: touching it and stopping its mode (the conflict rule's corridor_counts)
    "corridors": "corridor_counts(g.kind, g.geom_utm, coalesce(g.buffer_m, 25.0), r.geom_utm, r.kind, r.modes)",
    "moratoriums": "ST_Intersects(r.geom_utm, g.geom_utm)",
    "blackouts": "(g.geom_utm IS NULL OR ST_Intersects(r.geom_utm, g.geom_utm))",
}


def rule_name(session: Session, table: str, rule_id: str) -> str | None:
    if table not in _RULE_MATCH or table_info(session, table) is None:
        return None
    return session.execute(text(f"SELECT name FROM {_q(table)} WHERE id::text = :id"), {"id": rule_id}).scalar()


def sites_in_rule(session: Session, viewer: Viewer, table: str, rule_id: str) -> list[dict[str, Any]]:
    """The sites in a zone (or running along a corridor) with window, slot and effective dates."""
    params: dict[str, Any] = {"rule": rule_id}
    where = _visibility(viewer, "r", params)
    rows = session.execute(text(f"""
        SELECT r.id, {title_sql(viewer, "r", params)} AS title, r.status, r.impact, r.kind, o.name AS owner,
               r.earliest_start, r.latest_end,
               r.duration_days, s.status AS slot_status, s.start AS slot_start, s."end" AS slot_end,
               {EFFECTIVE_START} AS start, {EFFECTIVE_END} AS "end"
        FROM {SITE_FROM} JOIN {_q(table)} g ON g.id::text = :rule AND {_RULE_MATCH[table]}
        WHERE {where} AND r.status NOT IN ('withdrawn', 'rejected')
        ORDER BY {EFFECTIVE_START}, 2"""), params).mappings().all()
    return [dict(row) for row in rows]


def linked_sites(session: Session, viewer: Viewer, request_id: uuid.UUID) -> list[uuid.UUID] | None:
    """The sites linked to the site ``request_id`` by a precedence (an ``after`` link, either way) that ``viewer``
    may see; ``None`` when the viewer may not see the site itself (or it does not exist)."""
    params: dict[str, Any] = {"rid": request_id}
    own = _visibility(viewer, "r", params)
    if session.execute(text(f"SELECT 1 FROM site_requests r WHERE r.id = :rid AND {own}"), params).first() is None:
        return None
    rows = session.execute(text(f"""
        SELECT r.id FROM site_requests r
        WHERE {own} AND r.id IN (SELECT predecessor_id FROM request_precedences WHERE request_id = :rid
                                 UNION SELECT request_id FROM request_precedences WHERE predecessor_id = :rid)
        ORDER BY r.id"""), params).scalars().all()
    return list(rows)


# --- vector tiles --------------------------------------------------------------------------------

TILE_EXTENT = 4096
TILE_BUFFER = 64


def _tile_bounds() -> str:
    # The tile envelope in 3857, and the same envelope (with the buffer) in 4326 for the index on geom.
    return (f"WITH tb AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env, "
            f"ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => {TILE_BUFFER / TILE_EXTENT}), 4326) AS env4326)")


# Below this zoom a tile may hold thousands of sites: it carries only what styling and the day filter need.
DETAIL_ZOOM = 12
# Below this zoom a site (tens to hundreds of metres) is a pixel or two: it is drawn as a point on the site
# and without its id (a region-wide tile is for seeing where works cluster, not for clicking one of 5,000).
POINT_ZOOM = 11


def site_tile(session: Session, viewer: Viewer, f: SiteFilter, z: int, x: int, y: int) -> bytes:
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    where = _site_where(viewer, f, params)
    # Properties are cast to text: ST_AsMVT encodes varchar through a generic, about three times slower path.
    detail = (f"{title_sql(viewer, 'r', params)}::text AS title, o.name::text AS owner, "
              "s.status::text AS slot_status,") if z >= DETAIL_ZOOM else ""
    ident = "r.id::text AS id," if z >= POINT_ZOOM else ""
    geom = "r.geom_3857" if z >= POINT_ZOOM else "r.point_3857"  # stored (migration 0008), not transformed here
    sql = f"""{_tile_bounds()}
        SELECT ST_AsMVT(t, 'sites', {TILE_EXTENT}, 'geom') FROM (
            SELECT ST_AsMVTGeom({geom}, tb.env, {TILE_EXTENT}, {TILE_BUFFER}, true) AS geom,
                   {ident} r.status::text, r.impact::text, r.kind::text, {detail}
                   to_char({EFFECTIVE_START}, 'YYYY-MM-DD') AS start,
                   to_char({EFFECTIVE_END}, 'YYYY-MM-DD') AS "end"
            FROM {SITE_FROM}, tb
            WHERE r.geom && tb.env4326 AND {where}) t
        WHERE t.geom IS NOT NULL"""
    return bytes(session.execute(text(sql), params).scalar_one() or b"")


def pair_tile(session: Session, info: TableInfo, viewer: Viewer, layer: str, start: date | None,
              end: date | None, z: int, x: int, y: int) -> bytes:
    if len(info.site_refs) < 2:
        return b""
    ca, cb = _q(info.site_refs[0]), _q(info.site_refs[1])
    params: dict[str, Any] = {"z": z, "x": x, "y": y}
    conds = [_visibility(viewer, "a", params, "va"), f"(b.id IS NULL OR {_visibility(viewer, 'b', params, 'vb')})"]
    conds += _period_conds(info, "t", start, end, params)
    kind = "t.kind" if "kind" in info.columns else "NULL::text"
    sql = f"""{_tile_bounds()}
        SELECT ST_AsMVT(q, '{layer}', {TILE_EXTENT}, 'geom') FROM (
            SELECT ST_AsMVTGeom({PAIR_GEOM_3857}, tb.env, {TILE_EXTENT}, {TILE_BUFFER}, true)
                   AS geom, t.{_q(info.order)}::text AS id, {kind}::text AS kind, a.id::text AS site_a,
                   b.id::text AS site_b
            FROM {_q(info.name)} t JOIN site_requests a ON a.id = t.{ca}
                 LEFT JOIN site_requests b ON b.id = t.{cb}, tb
            WHERE (a.geom && tb.env4326 OR b.geom && tb.env4326) AND {" AND ".join(conds)}) q
        WHERE q.geom IS NOT NULL"""
    return bytes(session.execute(text(sql), params).scalar_one() or b"")
