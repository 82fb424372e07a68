"""Pairs of requests with detailed geometries (``service.kit.spatial_sql``): the same answers as an independent Shapely
computation, found on the GiST indexes piece by piece.

The slot placement (``slots.repository.hard_conflicts``), the workflow's conflicting slots, the conflicts domain's
pair and dig-once candidates check a request against the stored sites. A footprint or diversion of thousands of
vertices used to be checked whole against every site in its bounding box (or, for the slot queries, every
scheduled site: a nested loop without the index), seconds to minutes per request.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from geoalchemy2.shape import from_shape
from shapely import from_wkb, get_num_coordinates, to_wkb
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import text
from sqlalchemy.orm import Session

from service.auth import service as auth
from service.conflicts import repository as conflicts
from service.geo import rules, to_metric, to_wgs84
from service.requests.models import SiteRequest
from service.slots import repository as slots
from service.slots.models import Slot
from service.workflow import repository as workflow

X0, Y0 = (lambda p: (p.x, p.y))(to_metric(Point(7.0, 51.44)))
DIST = dict(rules.DEFAULT_DISTANCES)
TOL = 5.0  # route tolerance
EPS = rules.TOLERANCE_M
WINDOW = (date(2027, 4, 1), date(2027, 5, 30))
ORDER = {name: n for n, name in enumerate(rules.IMPACTS)}


def _wiggle(rng: random.Random, n: int, length: float) -> LineString:
    """A winding line of ``n`` vertices, about ``length`` metres long, somewhere in the 2 km square."""
    x, y, heading = X0 + rng.uniform(-900, 900), Y0 + rng.uniform(-900, 900), rng.uniform(0, 2 * math.pi)
    step, pts = length / n, []
    for _ in range(n):
        pts.append((x, y))
        heading += rng.uniform(-0.35, 0.35)
        x, y = x + step * math.cos(heading), y + step * math.sin(heading)
    return LineString(pts)


def _footprint(rng: random.Random) -> BaseGeometry:
    x, y = X0 + rng.uniform(-1000, 1000), Y0 + rng.uniform(-1000, 1000)
    shape = rng.choice(["point", "line", "box", "long line", "round area"])
    if shape == "point":
        return Point(x, y)
    if shape == "line":
        return LineString([(x, y), (x + rng.uniform(-150, 150), y + rng.uniform(-150, 150))])
    if shape == "box":
        return Polygon.from_bounds(x, y, x + rng.uniform(2, 60), y + rng.uniform(2, 60))
    if shape == "long line":
        return _wiggle(rng, rng.randint(150, 600), rng.uniform(800, 2500))
    return Point(x, y).buffer(rng.uniform(40, 250), quad_segs=rng.randint(40, 90))  # 160 to 360 vertices


def _routes(rng: random.Random, chance: float) -> MultiLineString | None:
    if rng.random() >= chance:
        return None
    return MultiLineString([_wiggle(rng, rng.randint(2, 400), rng.uniform(100, 2500))
                            for _ in range(rng.randint(1, 3))])


def _store(db: Session, owner: uuid.UUID, geom: BaseGeometry, impact: str, div: Any, rep: Any) -> SiteRequest:
    req = SiteRequest(
        owner_id=owner, title="Generiert", kind="water", impact=impact, modes=[], shift="continuous",
        urgency="planned", status="submitted", contact={}, geometry_notes=[], bundle_with=[],
        geom=from_shape(to_wgs84(geom), srid=4326),
        diversions_geom=from_shape(to_wgs84(div), srid=4326) if div is not None else None,
        replacement_geom=from_shape(to_wgs84(rep), srid=4326) if rep is not None else None,
        earliest_start=WINDOW[0], latest_end=WINDOW[1], duration_days=30, source="test",
    )
    db.add(req)
    return req


class Site:
    """A stored site as PostGIS holds it in EPSG:25832 (read back: the reference computation uses the same
    coordinates)."""

    def __init__(self, row: Any) -> None:
        self.id, self.owner, self.impact = row.id, row.owner_id, row.impact
        self.geom = from_wkb(bytes(row.g))
        self.div = from_wkb(bytes(row.d)) if row.d is not None else None
        self.rep = from_wkb(bytes(row.r)) if row.r is not None else None


def _generated(db: Session, n: int = 110, seed: int = 11) -> dict[uuid.UUID, Site]:
    """``n`` sites of four owners, a third of them detailed (lines of hundreds of vertices, round areas, winding
    diversions and replacement routes), each with an approved slot in the common window."""
    rng = random.Random(seed)
    owners = [auth.create_organisation(db, name=f"Pieces {uuid.uuid4().hex[:8]}", kind="utility").id
              for _ in range(4)]
    db.flush()
    reqs = [_store(db, rng.choice(owners), _footprint(rng), rng.choice(rules.IMPACTS), _routes(rng, 0.3),
                   _routes(rng, 0.1)) for _ in range(n)]
    db.flush()
    for req in reqs:
        db.add(Slot(request_id=req.id, start=date(2027, 4, 10), end=date(2027, 5, 9), status="approved"))
    db.flush()
    rows = db.execute(text("SELECT id, owner_id, impact, ST_AsBinary(geom_utm) AS g, ST_AsBinary(diversions_utm) "
                           "AS d, ST_AsBinary(replacement_utm) AS r FROM site_requests WHERE id = ANY(:ids)"),
                      {"ids": [r.id for r in reqs]})
    return {row.id: Site(row) for row in rows}


def _near(g: BaseGeometry, h: BaseGeometry | None, limit: float, unsure: list) -> bool:  # noqa: ANN001
    """``g`` within ``limit`` of ``h``; a distance within a micrometre of the limit is recorded as unsure (the
    reference and PostGIS may round it either way)."""
    if h is None:
        return False
    d = g.distance(h)
    if abs(d - limit) < 1e-6:
        unsure.append((g, h, limit))
    return d <= limit


def _expected(a: Site, b: Site, unsure: list) -> dict[str, Any]:
    required = max(DIST[a.impact], DIST[b.impact]) + EPS
    return {
        "space": _near(a.geom, b.geom, required, unsure),
        "in_reach": _near(a.geom, b.geom, max(DIST.values()) + EPS, unsure),
        "a_on_b_div": _near(a.geom, b.div, TOL + EPS, unsure),
        "a_on_b_rep": _near(a.geom, b.rep, TOL + EPS, unsure),
        "b_on_a_div": _near(b.geom, a.div, TOL + EPS, unsure),
        "b_on_a_rep": _near(b.geom, a.rep, TOL + EPS, unsure),
    }


def _hard(e: dict[str, Any], a: Site, b: Site) -> str | None:
    if a.owner == b.owner:
        return None
    if e["space"]:
        return "space"
    if (a.impact != "none" and (e["a_on_b_div"] or e["a_on_b_rep"])) or (
            b.impact != "none" and (e["b_on_a_div"] or e["b_on_a_rep"])):
        return "diversion"
    return None


def test_pair_queries_agree_with_shapely_on_detailed_geometries(db) -> None:  # noqa: ANN001
    sites = _generated(db)
    detailed = [s for s in sites.values()
                if get_num_coordinates(s.geom) > 64 or (s.div is not None and get_num_coordinates(s.div) > 64)]
    assert len(detailed) >= 20
    small = [s for s in sites.values() if s not in detailed]
    unsure: list = []
    expected = {(a.id, b.id): _expected(a, b, unsure) for a in sites.values() for b in sites.values() if a is not b}
    assert not unsure  # the generated set has no distance on a limit: every verdict below is exact

    # the conflicts domain's set-based graph: every pair once, with every verdict and the distance
    rows = [r for r in conflicts.pair_candidates(db, "all", distances=DIST, route_tolerance_m=TOL)
            if r.a_id in sites and r.b_id in sites]
    flags = ("a_on_b_div", "a_on_b_rep", "b_on_a_div", "b_on_a_rep")
    got = {(r.a_id, r.b_id): (r.space_hit, *(getattr(r, f) for f in flags)) for r in rows}
    want = {(a, b): (e["space"], *(e[f] for f in flags)) for (a, b), e in expected.items()
            if str(b) > str(a) and (e["in_reach"] or any(e[f] for f in flags))}
    assert got == want
    assert sum(1 for v in got.values() if any(v)) > 100
    for r in rows:
        assert r.distance == pytest.approx(sites[r.a_id].geom.distance(sites[r.b_id].geom), abs=1e-6)

    # one stored request, as a refresh after its change checks it (a small one is checked whole)
    for a in detailed[:6] + small[:4]:
        rows = conflicts.pair_candidates(db, "single", request_id=a.id, distances=DIST, route_tolerance_m=TOL)
        got = {r.b_id: (r.space_hit, *(getattr(r, f) for f in flags)) for r in rows if r.b_id in sites}
        want = {b: (e["space"], *(e[f] for f in flags)) for (x, b), e in expected.items()
                if x == a.id and (e["in_reach"] or any(e[f] for f in flags))}
        assert got == want

    # the slot placement's hard conflicts of a few requests, with each other and every scheduled site
    ids = [s.id for s in detailed[:10]]
    got_hard = {(x, y, kind) for x, y, kind in slots.hard_conflicts(
        db, ids, DIST, TOL, start=WINDOW[0], end=WINDOW[1]) if x in sites and y in sites}
    want_hard = set()
    for a_id in ids:
        for b in sites.values():
            kind = _hard(expected[(a_id, b.id)], sites[a_id], b) if b.id != a_id else None
            if kind:
                want_hard.add((min(a_id, b.id), max(a_id, b.id), kind))
    assert got_hard == want_hard
    assert len(want_hard) > 20

    # the workflow's slots in the way of a request's works
    for a in detailed[:6]:
        rows = workflow.conflicting_slots(
            db, request_id=a.id, owner_id=a.owner, geom_wkb=None, impact=a.impact, shift="continuous",
            start=WINDOW[0], end=WINDOW[1], distances=DIST, route_tolerance_m=TOL, impact_order=ORDER)
        got_slots = {(r.id, r.kind) for r in rows if r.id in sites}
        want_slots = {(b.id, kind) for b in sites.values() if b.id != a.id
                      for kind in [_hard(expected[(a.id, b.id)], a, b)] if kind}
        assert got_slots == want_slots

    # dig-once candidates within 30 m (all of kind water, windows alike)
    for a in detailed[:6] + small[:4]:
        rows = conflicts.opportunity_candidates(db, "single", request_id=a.id, max_distance_m=30, months=6)
        got_opps = {r.b_id: r.distance for r in rows if r.b_id in sites}
        want_opps = {b.id for b in sites.values() if b.id != a.id and a.geom.distance(b.geom) <= 30 + EPS}
        assert set(got_opps) == want_opps
        for b_id, distance in got_opps.items():
            assert distance == pytest.approx(a.geom.distance(sites[b_id].geom), abs=1e-6)


def test_a_detailed_draft_is_checked_as_shapely_checks_it(db) -> None:  # noqa: ANN001
    sites = _generated(db, n=80, seed=5)
    rng = random.Random(3)
    footprint, div = _wiggle(rng, 900, 3000), _routes(random.Random(4), 1.0)
    # the draft goes in as WGS84; compare with it as PostGIS transforms it back
    back = db.execute(text("SELECT ST_AsBinary(ST_Transform(ST_GeomFromWKB(:g, 4326), 25832)) AS g, "
                           "ST_AsBinary(ST_Transform(ST_GeomFromWKB(:d, 4326), 25832)) AS d"),
                      {"g": to_wkb(to_wgs84(footprint)), "d": to_wkb(to_wgs84(div))}).one()
    footprint, div = from_wkb(bytes(back.g)), from_wkb(bytes(back.d))
    draft = conflicts.Draft(owner_id=uuid.uuid4(), kind="gas", impact="full_closure", shift="continuous",
                            urgency="planned", start=WINDOW[0], end=WINDOW[1], geom_wkb=to_wkb(to_wgs84(footprint)),
                            diversions_wkb=to_wkb(to_wgs84(div)))
    rows = [r for r in conflicts.pair_candidates(db, "check", draft=draft, distances=DIST, route_tolerance_m=TOL)
            if r.b_id in sites]
    unsure: list = []
    want = {}
    for b in sites.values():
        space = _near(footprint, b.geom, max(DIST["full_closure"], DIST[b.impact]) + EPS, unsure)
        reach = _near(footprint, b.geom, max(DIST.values()) + EPS, unsure)
        on_theirs = _near(footprint, b.div, TOL + EPS, unsure)
        on_mine = _near(b.geom, div, TOL + EPS, unsure)
        if reach or on_theirs or on_mine or _near(footprint, b.rep, TOL + EPS, unsure):
            want[b.id] = (space, on_theirs, on_mine)
    assert not unsure
    assert {r.b_id: (r.space_hit, r.a_on_b_div, r.b_on_a_div) for r in rows} == want
    assert len(want) > 10


# --- the plans --------------------------------------------------------------------------------------------------

FILL = text("""
INSERT INTO site_requests (id, owner_id, title, public_title, description, contact, kind, impact, modes, shift,
    urgency, status, geom, diversions_geom, earliest_start, latest_end, duration_days, bundle_with, geometry_notes,
    source, version)
SELECT gen_random_uuid(), (CAST(:owners AS uuid[]))[1 + i % 4], 'Gefüllt ' || i, 'Gefüllt ' || i, '', '{}'::jsonb,
    'water', (ARRAY['footway','lane_reduction','one_way','full_closure'])[1 + i % 4], ARRAY['car']::varchar[],
    'continuous', 'planned', 'submitted',
    ST_SetSRID(ST_MakeLine(ST_MakePoint(x, y), ST_MakePoint(x + 0.0008, y + 0.0004)), 4326),
    CASE WHEN i % 7 = 0 THEN ST_Multi(ST_SetSRID(ST_MakeLine(ST_MakePoint(x - 0.003, y + 0.002),
                                                             ST_MakePoint(x + 0.003, y + 0.002)), 4326)) END,
    DATE '2027-04-01', DATE '2027-05-30', 30, ARRAY[]::varchar[], '[]'::jsonb, 'test', 1
FROM generate_series(1, :n) AS i,
LATERAL (SELECT 6.90 + ((i * 7919) % 1000) / 1000.0 * 0.20 AS x, 51.40 + ((i * 104729) % 997) / 997.0 * 0.10 AS y) g
""")


def _plan(db: Session, call: Callable[[], Any]) -> list[dict[str, Any]]:
    """The nodes of the executed plan (EXPLAIN ANALYZE, FORMAT JSON) of the largest statement ``call`` runs."""
    seen: list[tuple[Any, Any]] = []
    real = db.execute

    def spy(stmt, params=None, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        seen.append((stmt, params))
        return real(stmt, params, *args, **kwargs)

    db.execute = spy  # type: ignore[method-assign]
    try:
        call()
    finally:
        del db.execute
    stmt, params = max(seen, key=lambda s: len(str(getattr(s[0], "text", ""))))
    plan = db.execute(text("EXPLAIN (ANALYZE, FORMAT JSON) " + stmt.text), params).scalar()
    nodes, todo = [], [plan[0]["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def _index_lookups(nodes: list[dict[str, Any]]) -> dict[str, int]:
    """Per GiST index of ``site_requests``, how many times the plan looked it up."""
    out: dict[str, int] = {}
    for node in nodes:
        name = node.get("Index Name", "")
        if name.startswith("idx_site_requests_") and name.endswith("_utm"):
            out[name] = out.get(name, 0) + node.get("Actual Loops", 0)
    return out


def test_a_detailed_request_is_looked_up_on_the_indexes_piece_by_piece(db) -> None:  # noqa: ANN001
    """With 3,000 stored sites, each query of a request with a works line of 3,000 vertices and diversions of
    2 × 2,000 finds its neighbours on the GiST indexes of the footprints and the diversions, once per piece of its
    geometry (at least 40 lookups), never by checking every scheduled site or every site in its bounding box."""
    owners = [auth.create_organisation(db, name=f"Plan {uuid.uuid4().hex[:8]}", kind="city").id for _ in range(4)]
    db.flush()
    db.execute(FILL, {"owners": [str(o) for o in owners], "n": 3000})
    db.execute(text("INSERT INTO slots (request_id, start, \"end\", status, provisional, explanation) "
                    "SELECT id, DATE '2027-04-10', DATE '2027-05-09', 'approved', false, '{}'::jsonb "
                    "FROM site_requests WHERE source = 'test'"))
    rng = random.Random(1)
    line = _wiggle(rng, 3000, 9000)
    div = MultiLineString([_wiggle(rng, 2000, 7000), _wiggle(rng, 2000, 7000)])
    req = _store(db, owners[0], line, "full_closure", div, None)
    db.flush()
    db.execute(text("ANALYZE site_requests"))
    db.execute(text("ANALYZE slots"))

    queries = {
        "hard_conflicts": lambda: slots.hard_conflicts(db, [req.id], DIST, TOL, start=WINDOW[0], end=WINDOW[1]),
        "conflicting_slots": lambda: workflow.conflicting_slots(
            db, request_id=req.id, owner_id=owners[0], geom_wkb=None, impact="full_closure", shift="continuous",
            start=WINDOW[0], end=WINDOW[1], distances=DIST, route_tolerance_m=TOL, impact_order=ORDER),
        "pair_candidates": lambda: conflicts.pair_candidates(db, "single", request_id=req.id, distances=DIST,
                                                             route_tolerance_m=TOL),
        "opportunity_candidates": lambda: conflicts.opportunity_candidates(db, "single", request_id=req.id,
                                                                           max_distance_m=30, months=6),
    }
    lookups = {name: _index_lookups(_plan(db, call)) for name, call in queries.items()}
    few = {name: found for name, found in lookups.items()
           if found.get("idx_site_requests_geom_utm", 0) < 40
           # dig-once compares footprints only
           or (name != "opportunity_candidates" and found.get("idx_site_requests_diversions_utm", 0) < 40)}
    assert few == {}
