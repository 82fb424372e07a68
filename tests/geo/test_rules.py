"""The pure conflict rules."""

from __future__ import annotations

from datetime import date

from shapely.geometry import LineString, Point, Polygon

from service.geo import rules


def test_required_distance_uses_the_larger_impact() -> None:
    assert rules.required_distance("footway", "full_closure") == 200
    assert rules.required_distance("lane_reduction", "none") == 50
    assert rules.space_conflict(Point(0, 0), Point(0, 49.9), "lane_reduction", "footway")
    assert not rules.space_conflict(Point(0, 0), Point(0, 50.1), "lane_reduction", "footway")
    assert rules.space_conflict(Point(0, 0), Point(0, 0), "none", "none")
    assert not rules.space_conflict(Point(0, 0), Point(0, 0.01), "none", "none")


def test_shifts_and_periods() -> None:
    assert not rules.shifts_clash("day", "night")
    assert rules.shifts_clash("day", "day") and rules.shifts_clash("continuous", "night")
    a, b = (date(2027, 1, 1), date(2027, 1, 31)), (date(2027, 1, 31), date(2027, 2, 5))
    assert rules.periods_overlap(a, b) == (date(2027, 1, 31), date(2027, 1, 31))
    assert rules.periods_overlap(a, (date(2027, 2, 1), date(2027, 2, 2))) is None
    assert rules.gap_days(a, (date(2027, 2, 1), date(2027, 2, 2))) == 0
    assert rules.gap_days(a, (date(2027, 2, 11), date(2027, 2, 12))) == 10
    assert rules.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert rules.within_months(a, (date(2027, 7, 31), date(2027, 8, 1)), 6)
    assert not rules.within_months(a, (date(2027, 8, 1), date(2027, 8, 2)), 6)


def test_routes_corridors_areas() -> None:
    route = LineString([(0, 10), (100, 10)])
    assert rules.touches_route(Point(50, 14), route, 5) and not rules.touches_route(Point(50, 16), route, 5)
    assert not rules.touches_route(Point(50, 10), None, 5)
    assert rules.on_corridor(Point(50, 34), route, 25) and not rules.on_corridor(Point(50, 36), route, 25)
    assert rules.in_area(Point(0, 0), None)


def test_works_count_on_a_corridor_when_they_run_along_it_or_cross_it_not_when_they_end_near_it() -> None:
    corridor = LineString([(0, 0), (1000, 0)])
    along = LineString([(100, 10), (400, 10)])
    crossing = LineString([(500, -150), (500, 150)])  # a side-street trench through the junction: 50 of 300 m
    ending = LineString([(600, 20), (600, 300)])  # ends 20 m from the corridor: 5 of 280 m inside
    short_crossing = LineString([(700, -30), (700, 30)])  # only the crossing itself: 50 of 60 m inside
    long_side_run = LineString([(0, 20), (150, 20), (150, 600)])  # 150 m along, 450 m away: 150 m is enough
    assert rules.on_corridor(along, corridor, 25)
    assert rules.on_corridor(crossing, corridor, 25)
    assert not rules.on_corridor(ending, corridor, 25)
    assert rules.on_corridor(short_crossing, corridor, 25)
    assert rules.on_corridor(long_side_run, corridor, 25)
    assert rules.on_corridor(Point(300, 25), corridor, 25)
    assert not rules.on_corridor(LineString([(100, 26), (400, 26)]), corridor, 25)
    half_in = Polygon([(200, -20), (240, -20), (240, 70), (200, 70)])  # 45 of 90 m deep in the 25 m band
    mostly_out = Polygon([(300, 10), (340, 10), (340, 110), (300, 110)])  # 15 of 100 m
    assert rules.on_corridor(half_in, corridor, 25) and not rules.on_corridor(mostly_out, corridor, 25)


def test_a_tram_or_rail_corridor_counts_the_works_that_stop_its_mode() -> None:
    hit = rules.corridor_mode_hit
    assert not hit("tram", "sewer", ["car", "cycle"])  # a road closure with the trams running
    assert hit("tram", "sewer", ["car", "cycle", "tram"]) and hit("tram", "sewer", ["transit"])
    assert hit("tram", "tram_track", ["car"]) and hit("tram", "sewer", []) and hit("tram", "tram_track", [])
    assert not hit("tram", "rail", []) and not hit("tram", "rail", ["rail"])
    assert hit("rail", "rail", []) and hit("rail", "road", ["rail", "car"]) and not hit("rail", "sewer", [])
    assert not hit("rail", "tram_track", ["tram"])
    # bus and arterial corridors: every works (the impact threshold decides)
    assert hit("bus", "sewer", ["pedestrian"]) and hit("arterial", "rail", ["rail"])
    corridor = LineString([(0, 0), (1000, 0)])
    assert not rules.counts_on_corridor("tram", corridor, 25, LineString([(100, 10), (400, 10)]), "sewer", ["car"])
    assert rules.counts_on_corridor("tram", corridor, 25, LineString([(500, -150), (500, 150)]), "sewer", ["tram"])


def test_works_in_the_road_and_works_on_a_track_of_their_own_need_no_distance() -> None:
    assert rules.in_road("water", []) and rules.in_road("tram_track", []) and rules.in_road("rail", ["car"])
    assert not rules.in_road("rail", []) and not rules.in_road("tram_track", ["tram"])
    assert not rules.in_road("water", ["rail"]) and rules.in_road("water", ["rail", "pedestrian"])
    road, track = (Point(0, 0), True), (Point(0, 30), False)
    assert rules.space_conflict(road[0], Point(0, 30), "full_closure", "full_closure")
    assert not rules.space_conflict(road[0], track[0], "full_closure", "full_closure", in_road_a=True,
                                    in_road_b=False)
    assert rules.space_conflict(road[0], Point(0, 0), "full_closure", "lane_reduction", in_road_a=True,
                                in_road_b=False)  # they meet: a level crossing
    assert rules.space_conflict(Point(0, 0), Point(0, 150), "full_closure", "full_closure", in_road_a=False,
                                in_road_b=False)  # two works on the tracks keep the distance of their impacts


def test_moratorium_blackout_dig_once_predicates() -> None:
    assert rules.moratorium_applies("sewer", "planned")
    assert not rules.moratorium_applies("sewer", "emergency")
    assert not rules.moratorium_applies("road_maintenance", "planned")
    assert rules.blackout_applies("full_closure", "lane_reduction", "urgent")
    assert not rules.blackout_applies("lane_reduction", "lane_reduction", "planned")
    assert rules.dig_once("road_construction", "water") and rules.dig_once("tram_track", "road_maintenance")
    assert rules.dig_once("gas", "telecom")
    assert not rules.dig_once("road_maintenance", "road_construction") and not rules.dig_once("event", "gas")


def test_capacity_sweep_counts_day_and_night_separately() -> None:
    d = date
    members = rules.members_of([
        ("a", d(2027, 1, 1), d(2027, 1, 10), "continuous"),
        ("b", d(2027, 1, 5), d(2027, 1, 20), "day"),
        ("c", d(2027, 1, 8), d(2027, 1, 30), "night"),
        ("d", d(2027, 1, 9), d(2027, 1, 9), "day"),
    ])
    assert rules.capacity_excess(members, 3) == []
    found = {(e.a, e.b): e for e in rules.capacity_excess(members, 2)}
    # by day on the 9th: a, b, d (3 > 2); by night a and c only
    assert set(found) == {("a", "b"), ("a", "d"), ("b", "d")}
    assert (found[("a", "b")].start, found[("a", "b")].end, found[("a", "b")].peak) == (d(2027, 1, 9),
                                                                                       d(2027, 1, 9), 3)
    one = {(e.a, e.b) for e in rules.capacity_excess(members, 1)}
    assert ("b", "c") not in one and ("a", "c") in one and ("a", "b") in one


def test_capacity_blames_the_unslotted_member_when_the_slots_fit() -> None:
    d = date
    # a and b hold slots that fit a capacity of 2; c has no slot, so its whole window counts
    members = rules.members_of([
        ("a", d(2027, 5, 1), d(2027, 5, 30), "continuous", True),
        ("b", d(2027, 5, 1), d(2027, 5, 30), "continuous", True),
        ("c", d(2027, 5, 20), d(2027, 6, 30), "continuous", False),
    ])
    found = {(e.a, e.b): e for e in rules.capacity_excess(members, 2)}
    assert set(found) == {("a", "c"), ("b", "c")}
    assert (found[("a", "c")].start, found[("a", "c")].end, found[("a", "c")].peak) == (d(2027, 5, 20),
                                                                                       d(2027, 5, 30), 3)
    # slots that overload the rule on their own still clash with each other
    assert {(e.a, e.b) for e in rules.capacity_excess(members, 1)} == {("a", "b"), ("a", "c"), ("b", "c")}
    # without slots every pair on an over-capacity day conflicts, as before planning
    unslotted = [rules.Member(m.id, m.start, m.end) for m in members]
    assert {(e.a, e.b) for e in rules.capacity_excess(unslotted, 2)} == {("a", "b"), ("a", "c"), ("b", "c")}
