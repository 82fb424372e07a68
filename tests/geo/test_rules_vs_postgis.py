"""The pure rules (Shapely, EPSG:25832) and the PostGIS path (GiST-indexed 25832 columns) agree.

Random footprints and routes are stored as site requests; the repository's indexed candidate query is run
for a random planned site, and the set it reports (space verdict, route touches) is compared with the
set the pure rules find on the same geometries.
"""

from __future__ import annotations

import uuid
from datetime import date
from itertools import combinations

from geoalchemy2.shape import from_shape
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely import to_wkb
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from sqlalchemy import text

from service.auth import service as auth
from service.conflicts import repository
from service.geo import rules, to_metric, to_wgs84
from service.requests.models import SiteRequest

X0, Y0 = (lambda p: (round(p.x), round(p.y)))(to_metric(Point(7.0, 51.44)))
coord = st.integers(-300, 300)
impacts = st.sampled_from(rules.IMPACTS)


@st.composite
def footprints(draw):  # noqa: ANN001, ANN201
    kind = draw(st.sampled_from(["point", "line", "box"]))
    x, y = draw(coord), draw(coord)
    if kind == "point":
        return Point(X0 + x, Y0 + y)
    if kind == "line":
        pts = [(X0 + x, Y0 + y)] + [(X0 + draw(coord), Y0 + draw(coord)) for _ in range(draw(st.integers(1, 3)))]
        if len(set(pts)) < 2:
            pts.append((pts[0][0] + 1, pts[0][1]))
        return LineString(pts)
    w, h = draw(st.integers(1, 80)), draw(st.integers(1, 80))
    return Polygon([(X0 + x, Y0 + y), (X0 + x + w, Y0 + y), (X0 + x + w, Y0 + y + h), (X0 + x, Y0 + y + h)])


@st.composite
def routes(draw):  # noqa: ANN001, ANN201
    if not draw(st.booleans()):
        return None
    return MultiLineString([[(X0 + draw(coord), Y0 + draw(coord)), (X0 + draw(coord), Y0 + draw(coord))]])


sites = st.tuples(footprints(), impacts, routes())
WINDOW = (date(2027, 4, 1), date(2027, 5, 30))


def _store(db, owner: uuid.UUID, geom, impact: str, diversions) -> SiteRequest:  # noqa: ANN001
    req = SiteRequest(
        owner_id=owner, title="random", kind="water", impact=impact, modes=[], shift="continuous",
        urgency="planned", status="submitted", contact={}, geometry_notes=[], bundle_with=[],
        geom=from_shape(to_wgs84(geom), srid=4326),
        diversions_geom=from_shape(to_wgs84(diversions), srid=4326) if diversions is not None else None,
        earliest_start=WINDOW[0], latest_end=WINDOW[1], duration_days=60, source="test",
    )
    db.add(req)
    return req


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(sites, min_size=1, max_size=6), planned=sites)
def test_space_and_route_rules_match_postgis(db, stored, planned) -> None:  # noqa: ANN001
    distances = rules.DEFAULT_DISTANCES
    tolerance = 5.0
    savepoint = db.begin_nested()
    try:
        org = auth.create_organisation(db, name=f"Prop {uuid.uuid4().hex[:8]}", kind="utility")
        db.flush()
        reqs = [(_store(db, org.id, g, imp, div), g, imp, div) for g, imp, div in stored]
        db.flush()
        pg, pimp, pdiv = planned
        draft = repository.Draft(
            owner_id=uuid.uuid4(), kind="gas", impact=pimp, shift="continuous", urgency="planned",
            start=WINDOW[0], end=WINDOW[1], geom_wkb=to_wkb(to_wgs84(pg)),
            diversions_wkb=to_wkb(to_wgs84(pdiv)) if pdiv is not None else None,
        )
        rows = repository.pair_candidates(db, "check", draft=draft, distances=distances,
                                          route_tolerance_m=tolerance)
        ours = {r.id for r, *_ in reqs}
        rows = [r for r in rows if r.b_id in ours]
        sql_space = {r.b_id for r in rows if r.space_hit}
        sql_space_from_distance = {r.b_id for r in rows if rules.space_clash(r.distance, r.a_impact, r.b_impact,
                                                                               distances)}
        sql_on_their_route = {r.b_id for r in rows if r.a_on_b_div}
        sql_on_my_route = {r.b_id for r in rows if r.b_on_a_div}

        py_space = {r.id for r, g, imp, _ in reqs if rules.space_conflict(pg, g, pimp, imp, distances)}
        py_on_their_route = {r.id for r, _, _, div in reqs if rules.touches_route(pg, div, tolerance)}
        py_on_my_route = {r.id for r, g, _, _ in reqs if rules.touches_route(g, pdiv, tolerance)}
        assert sql_space == py_space
        assert sql_space_from_distance == py_space
        assert sql_on_their_route == py_on_their_route
        assert sql_on_my_route == py_on_my_route
    finally:
        savepoint.rollback()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stored=st.lists(sites, min_size=1, max_size=5), impact=impacts)
def test_set_based_graph_matches_pairwise_rules(db, stored, impact) -> None:  # noqa: ANN001
    """The self-join used for the full conflict graph finds exactly the pairs the pure rule finds."""
    distances = rules.DEFAULT_DISTANCES
    savepoint = db.begin_nested()
    try:
        org = auth.create_organisation(db, name=f"Graph {uuid.uuid4().hex[:8]}", kind="utility")
        db.flush()
        reqs = [(_store(db, org.id, g, imp, None), g, imp) for g, imp, _ in stored]
        db.flush()
        rows = repository.pair_candidates(db, "all", distances=distances, route_tolerance_m=0.0)
        ours = {r.id for r, *_ in reqs}
        sql = {frozenset((r.a_id, r.b_id)) for r in rows if r.a_id in ours and r.b_id in ours and r.space_hit}
        py = {frozenset((ra.id, rb.id)) for i, (ra, ga, ia) in enumerate(reqs) for rb, gb, ib in reqs[i + 1:]
              if rules.space_conflict(ga, gb, ia, ib, distances)}
        assert sql == py
    finally:
        savepoint.rollback()


KINDS = ["water", "gas", "road_maintenance", "tram_track", "rail", "event"]
MODE_NAMES = ["car", "cycle", "pedestrian", "tram", "bus", "transit", "rail"]


def test_works_in_road_matches_the_sql_function(db) -> None:  # noqa: ANN001
    """Every kind against every set of modes: the SQL function ``works_in_road`` is ``rules.in_road``."""
    mode_sets = [list(c) for n in range(4) for c in combinations(MODE_NAMES, n)]
    cases = [(k, m) for k in KINDS for m in mode_sets]
    sql = db.execute(text("SELECT works_in_road(k, CAST(string_to_array(m, ',') AS varchar[])) "
                          "FROM unnest(CAST(:kinds AS text[]), CAST(:modes AS text[])) WITH ORDINALITY AS x(k, m, n) "
                          "ORDER BY n"),
                     {"kinds": [k for k, _ in cases], "modes": [",".join(m) for _, m in cases]}).scalars().all()
    assert sql == [rules.in_road(k, m) for k, m in cases]
    assert sum(sql) not in (0, len(cases))  # both answers occur


def test_corridor_mode_hit_matches_the_sql_function(db) -> None:  # noqa: ANN001
    """Every corridor kind, kind of works and set of modes: ``corridor_mode_hit`` in SQL is the one in
    ``rules`` (the trams and trains the GTFS-RT feed alerts)."""
    mode_sets = [list(c) for n in range(4) for c in combinations(MODE_NAMES, n)]
    cases = [(c, k, m) for c in ("tram", "rail", "bus", "arterial") for k in KINDS for m in mode_sets]
    sql = db.execute(text("SELECT corridor_mode_hit(c, k, CAST(string_to_array(m, ',') AS varchar[])) "
                          "FROM unnest(CAST(:cks AS text[]), CAST(:kinds AS text[]), CAST(:modes AS text[])) "
                          "WITH ORDINALITY AS x(c, k, m, n) ORDER BY n"),
                     {"cks": [c for c, _, _ in cases], "kinds": [k for _, k, _ in cases],
                      "modes": [",".join(m) for _, _, m in cases]}).scalars().all()
    assert sql == [rules.corridor_mode_hit(c, k, m) for c, k, m in cases]
    assert sum(sql) not in (0, len(cases))  # both answers occur


corridor_lines = st.builds(lambda x0, y0, x1, y1: LineString([(X0 + x0, Y0 + y0), (X0 + x1, Y0 + y1)])
                           if (x0, y0) != (x1, y1) else LineString([(X0 + x0, Y0 + y0), (X0 + x0 + 5, Y0 + y0)]),
                           coord, coord, coord, coord)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(footprint=footprints(), corridor=corridor_lines, buffer_m=st.sampled_from([0.0, 10.0, 25.0, 60.0]))
def test_corridor_membership_matches_the_sql_function(db, footprint, corridor, buffer_m) -> None:  # noqa: ANN001
    """``corridor_carries`` in PostGIS and ``rules.on_corridor`` in GEOS agree (away from the exact thresholds,
    where floating point may fall either way)."""
    band = corridor.buffer(buffer_m + rules.TOLERANCE_M, quad_segs=8)
    inside = footprint.intersection(band)
    if footprint.geom_type == "LineString":
        margins = [inside.length - rules.CORRIDOR_RUN_M, inside.length - rules.CORRIDOR_SHARE * footprint.length]
    else:
        margins = [inside.area - rules.CORRIDOR_SHARE * footprint.area]
    margins.append(footprint.distance(corridor) - buffer_m)
    distance = footprint.distance(corridor)
    assume(distance == 0 or distance > 0.01)  # crossing: the footprint reaches the corridor itself
    assume(all(abs(m) > 0.01 for m in margins))
    sql = db.scalar(text("SELECT corridor_carries(ST_GeomFromText(:c, 25832), :b, ST_GeomFromText(:f, 25832))"),
                    {"c": corridor.wkt, "b": buffer_m, "f": footprint.wkt})
    assert sql == rules.on_corridor(footprint, corridor, buffer_m)
