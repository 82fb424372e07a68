"""Which of a corridor's stops a site affects (pure: no database)."""

from __future__ import annotations

from shapely.geometry import LineString, MultiLineString, Point

from service.feeds.common import Corridor, Stop, affected_stops, corridor_stops

# Along 7.0 E, one degree of latitude is about 111 km: 0.001 deg is about 111 m.
LINE = LineString([(7.0, 51.45), (7.0, 51.43)])
SITE = LineString([(7.0, 51.4400), (7.0, 51.4390)])


def corridor(*stops: Stop, geometry=LINE) -> Corridor:  # noqa: ANN001
    return Corridor(id="c", name="Tram", kind="tram", routes=["101"], stops=list(stops), geometry=geometry)


def test_registered_stops_are_parsed_with_or_without_positions() -> None:
    stops = corridor_stops(["a", {"stop_id": "b"}, {"id": "c", "lon": 7.0, "lat": 51.44}, {"id": "a"}, {"name": "x"}])
    assert [(s.id, s.position) for s in stops] == [("a", None), ("b", None), ("c", Point(7.0, 51.44))]


def test_stops_without_positions_always_count() -> None:
    c = corridor(Stop("a"), Stop("b"))
    assert affected_stops(SITE, c, closed=False) == ["a", "b"]


def test_positioned_stops_count_within_the_radius_only() -> None:
    c = corridor(Stop("on", Point(7.0, 51.4395)), Stop("250m", Point(7.0, 51.4422)), Stop("350m", Point(7.0, 51.4431)),
                 Stop("unknown"))
    assert affected_stops(SITE, c, closed=False) == ["on", "250m", "unknown"]
    assert affected_stops(SITE, c, closed=False, radius_m=100) == ["on", "unknown"]


def test_a_closure_adds_the_nearest_stop_on_each_side_along_the_line() -> None:
    c = corridor(Stop("n2", Point(7.0, 51.449)), Stop("n1", Point(7.0, 51.445)), Stop("s1", Point(7.0, 51.434)),
                 Stop("s2", Point(7.0, 51.431)))
    assert affected_stops(SITE, c, closed=False) == []
    assert affected_stops(SITE, c, closed=True) == ["n1", "s1"]
    # a site at the end of the line has a stop on one side only (a tiny radius leaves only the neighbour rule)
    end = LineString([(7.0, 51.4305), (7.0, 51.4300)])
    assert affected_stops(end, c, closed=True, radius_m=10) == ["s2"]
    # a corridor drawn in pieces is merged into one line first
    pieces = MultiLineString([[(7.0, 51.45), (7.0, 51.44)], [(7.0, 51.44), (7.0, 51.43)]])
    assert affected_stops(SITE, corridor(*c.stops, geometry=pieces), closed=True) == ["n1", "s1"]
