"""Trams and buses told apart: ``modes`` may name ``tram`` and ``bus``; ``transit`` keeps meaning both, as before.

GTFS-RT follows the named mode per corridor (and per route, where a route is registered with its GTFS
``route_type``); WZDx and DATEX II do not change: naming a transit mode never puts works in the road."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from itertools import combinations

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import ROAD_IMPACTS, FeedSite, in_road, route_types
from service.feeds.gtfsrt import effect_for, route_type_mode
from service.requests.models import Impact, WorkKind
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

# Rüttenscheider Straße, Essen (the default site of site_body): a tram line with a stop at the site, and a bus
# line in the same street.
TRAM_LINE = [[7.0000, 51.4405], [7.0013, 51.4368]]
BUS_LINE = [[7.0003, 51.4400], [7.0010, 51.4375]]
STERN = {"id": "stern", "lon": 7.0006, "lat": 51.4390}


def _corridor(db, name: str, kind: str, coords, routes, stops) -> Corridor:  # noqa: ANN001
    corridor = Corridor(name=name, kind=kind, buffer_m=30.0, routes=routes, stops=stops,
                        geom=from_shape(LineString(coords), srid=4326))
    db.add(corridor)
    db.flush()
    return corridor


def _alerts(client) -> dict[str, tuple[int, list[tuple[str, str]]]]:  # noqa: ANN001
    feed = rt.FeedMessage()
    feed.ParseFromString(client.get("/feeds/gtfs-rt/alerts.pb").content)
    return {e.id: (e.alert.effect, [(s.route_id, s.stop_id) for s in e.alert.informed_entity]) for e in feed.entity}


def test_tram_and_bus_are_affected_as_the_request_names_them(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Straßenbahn 107", "tram", TRAM_LINE, ["107"], [STERN])
    _corridor(db, "Bus 160", "bus", BUS_LINE, ["160"], [])
    # works in the bus lane: the buses detour, the trams beside them run
    bus_only = make_site(city, title="Kanal in der Busspur Rüttenscheider Straße", modes=["bus"])
    # closed for cars, cycles and trams; the buses may pass (Vollsperrung, Linienbus frei)
    bus_free = make_site(city, title="Kanal Rüttenscheider Straße, Linienbus frei", modes=["car", "cycle", "tram"],
                         diversions=[])
    # a tram on its own track bed: the trams stop, nothing else
    own_bed = make_site(city, title="Gleiserneuerung Stadtbahn", kind="tram_track", modes=["tram"], diversions=[])
    # a track bed the buses share with the trams: both stop there, the cars beside it drive on
    shared_bed = make_site(city, title="Gleiserneuerung ÖPNV-Trasse", kind="tram_track", modes=["tram", "bus"],
                           diversions=[])
    # as before: transit names both, and on track works it is the trams
    transit = make_site(city, title="Kanal Rüttenscheider Straße (ÖPNV)", modes=["car", "cycle", "transit"],
                        diversions=[])
    transit_bed = make_site(city, title="Gleiserneuerung (ÖPNV)", kind="tram_track", modes=["transit"],
                            diversions=[])
    # as before: a road closure that names no transit mode detours the buses and leaves the trams alone
    road = make_site(city, title="Kanal Rüttenscheider Straße (Kfz)", modes=["car", "cycle"], diversions=[])

    alerts = _alerts(client)
    tram_stop, bus = [("107", "stern")], [("160", "")]
    assert alerts == {
        f"{bus_only.id}:detour": (rt.Alert.DETOUR, bus),
        f"{bus_free.id}:no_service": (rt.Alert.NO_SERVICE, tram_stop),
        f"{own_bed.id}:no_service": (rt.Alert.NO_SERVICE, tram_stop),
        f"{shared_bed.id}:no_service": (rt.Alert.NO_SERVICE, tram_stop),
        f"{shared_bed.id}:detour": (rt.Alert.DETOUR, bus),
        f"{transit.id}:no_service": (rt.Alert.NO_SERVICE, tram_stop),
        f"{transit.id}:detour": (rt.Alert.DETOUR, bus),
        f"{transit_bed.id}:no_service": (rt.Alert.NO_SERVICE, tram_stop),
        f"{road.id}:detour": (rt.Alert.DETOUR, bus),
    }

    # WZDx and DATEX II closures: the works in the road, whichever transit mode they name; the track beds are not.
    # The bus lane alone is a lane closure for the other vehicles.
    in_the_road = {str(r.id) for r in (bus_only, bus_free, transit, road)}
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(wzdx) == []
    assert {f["id"]: f["properties"]["vehicle_impact"] for f in wzdx["features"]} == {
        **dict.fromkeys(in_the_road, "all-lanes-closed"), str(bus_only.id): "some-lanes-closed"}
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    closures = doc.xpath("//sit:situationRecord[sit:roadOrCarriagewayOrLaneManagementType]/@id", namespaces=DATEX_NS)
    assert set(closures) == {f"{ident}_closure" for ident in in_the_road}
    assert len(doc.xpath("//sit:situation", namespaces=DATEX_NS)) == 7


def test_routes_registered_with_a_gtfs_route_type_are_affected_by_their_own_mode(
        client, make_site, city, db) -> None:  # noqa: ANN001
    # one corridor for the street, carrying a tram and a bus line (GTFS route_type 0 and 3)
    _corridor(db, "Rüttenscheider Straße (107, 160)", "tram", TRAM_LINE,
              [{"id": "107", "name": "107", "route_type": 0}, {"id": "160", "name": "160", "route_type": 3}], [STERN])
    road = make_site(city, modes=["car", "cycle"], diversions=[])
    trams = make_site(city, kind="tram_track", modes=["tram"], diversions=[])
    both = make_site(city, modes=["car", "cycle", "tram", "bus"], diversions=[])

    alerts = _alerts(client)
    assert alerts == {
        f"{road.id}:detour": (rt.Alert.DETOUR, [("160", "stern")]),  # the buses detour; the trams run
        f"{trams.id}:no_service": (rt.Alert.NO_SERVICE, [("107", "stern")]),
        f"{both.id}:no_service": (rt.Alert.NO_SERVICE, [("107", "stern")]),
        f"{both.id}:detour": (rt.Alert.DETOUR, [("160", "stern")]),
    }


def test_route_types_are_read_from_route_objects() -> None:
    routes = ["101", {"id": "107", "route_type": 0}, {"route_id": "160", "type": "3"}, {"id": "x", "type": "bus"},
               {"id": "y", "route_type": True}, {"name": "no id", "route_type": 3}]
    assert route_types(routes) == {"107": 0, "160": 3}
    assert [route_type_mode(t) for t in (0, 900, 1, 402, 2, 109, 3, 11, 700, 800, 4, 1300)] == [
        "tram", "tram", "tram", "tram", "rail", "rail", "bus", "bus", "bus", "bus", None, None]


def _site(kind: str, impact: str, modes: list[str], *, diversion: bool = False, replacement: bool = False) -> FeedSite:
    moment = datetime(2027, 1, 1, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="t", description="", kind=kind, impact=impact, modes=modes, shift="continuous",
        urgency="planned", status="approved", owner_id=uuid.uuid4(), owner_name="o", geometry=LineString(BUS_LINE),
        has_diversion=diversion, has_replacement=replacement, start=date(2027, 1, 1), end=date(2027, 1, 2),
        from_slot=False, version=1, first_published=moment, last_changed=moment)


def _before(site: FeedSite, mode: str) -> int | None:
    """The effect as it was before ``tram`` and ``bus`` existed (``transit`` = buses and trams), with one deliberate
    change since: works in the road that name only ``pedestrian`` and ``cycle`` close the footway or the cycle lane,
    which leaves the buses' lanes open (``common.vehicle_impact``)."""
    modes, road = set(site.modes), site.in_road
    if mode == "tram":
        affected = "transit" in modes or site.kind == "tram_track" or (not modes and road)
    elif mode == "rail":
        affected = "rail" in modes or site.kind == "rail"
    else:
        beside_the_lanes = bool(modes) and modes <= {"pedestrian", "cycle"} and site.impact in ROAD_IMPACTS
        affected = road and (site.impact in ROAD_IMPACTS or "transit" in modes) and not beside_the_lanes
    if not affected:
        return None
    if site.impact == "full_closure":
        return rt.Alert.NO_SERVICE if mode != "bus" else rt.Alert.DETOUR
    if site.impact in ROAD_IMPACTS:
        return rt.Alert.DETOUR if site.has_diversion else rt.Alert.REDUCED_SERVICE
    return rt.Alert.OTHER_EFFECT


def test_requests_with_the_old_modes_keep_every_effect_they_had() -> None:
    old_modes = ["pedestrian", "cycle", "car", "transit", "rail"]
    subsets = [list(c) for n in range(len(old_modes) + 1) for c in combinations(old_modes, n)]
    for kind in WorkKind:
        for impact in Impact:
            for modes in subsets:
                site = _site(kind.value, impact.value, modes)
                for mode in ("tram", "bus", "rail"):
                    assert effect_for(site, mode) == _before(site, mode), (kind, impact, modes, mode)


@pytest.mark.parametrize(
    ("kind", "impact", "modes", "tram", "bus"),
    [
        ("sewer", "full_closure", ["bus"], None, rt.Alert.REDUCED_SERVICE),  # the bus lane: buses use the next lane
        ("sewer", "lane_reduction", ["bus"], None, rt.Alert.REDUCED_SERVICE),
        ("sewer", "full_closure", ["tram"], rt.Alert.NO_SERVICE, None),  # the tram track in the street only
        ("sewer", "full_closure", ["car", "tram"], rt.Alert.NO_SERVICE, None),  # Linienbus frei
        ("sewer", "full_closure", ["car", "tram", "bus"], rt.Alert.NO_SERVICE, rt.Alert.DETOUR),
        ("sewer", "footway", ["pedestrian", "bus"], None, rt.Alert.OTHER_EFFECT),  # a bus stop's platform
        ("sewer", "footway", ["pedestrian", "tram"], rt.Alert.OTHER_EFFECT, None),
        ("tram_track", "full_closure", ["tram"], rt.Alert.NO_SERVICE, None),
        ("tram_track", "full_closure", ["bus"], rt.Alert.NO_SERVICE, rt.Alert.DETOUR),  # the trams' own track
        ("tram_track", "one_way", ["tram", "bus"], rt.Alert.REDUCED_SERVICE, rt.Alert.REDUCED_SERVICE),
        ("tram_track", "full_closure", ["car", "tram"], rt.Alert.NO_SERVICE, None),
        ("tram_track", "full_closure", ["transit", "bus"], rt.Alert.NO_SERVICE, rt.Alert.DETOUR),
        ("rail", "full_closure", ["rail", "bus"], None, rt.Alert.DETOUR),  # a level crossing on a bus route
    ],
)
def test_the_effect_on_trams_and_buses_follows_the_named_modes(kind, impact, modes, tram, bus) -> None:  # noqa: ANN001
    site = _site(kind, impact, modes)
    assert (effect_for(site, "tram"), effect_for(site, "bus")) == (tram, bus)


@pytest.mark.parametrize(
    ("kind", "modes", "expected"),
    [
        ("tram_track", ["tram"], False),  # own track bed, as with transit
        ("tram_track", ["tram", "bus"], False),  # a track bed shared with buses: the cars beside it drive on
        ("tram_track", ["car", "tram"], True),
        ("rail", ["bus"], False),
        ("sewer", ["bus"], True),  # a bus lane
        ("sewer", ["tram"], True),
        ("sewer", ["rail", "bus"], True),
    ],
)
def test_trams_and_buses_leave_the_road_or_track_rule_as_it_was(kind: str, modes: list[str], expected: bool) -> None:
    assert in_road(kind, modes) is expected


@pytest.mark.parametrize(
    ("kind", "impact", "modes", "diversion", "replacement", "expected"),
    [
        # trams and trains are never diverted: the diversion is the road's, the buses follow it
        ("tram_track", "lane_reduction", ["car", "tram", "bus"], True, False,
         {"tram": rt.Alert.REDUCED_SERVICE, "bus": rt.Alert.DETOUR}),
        ("tram_track", "one_way", ["tram"], True, False, {"tram": rt.Alert.REDUCED_SERVICE, "bus": None}),
        ("rail", "lane_reduction", ["rail"], True, True, {"rail": rt.Alert.REDUCED_SERVICE, "bus": None}),
        # replacement routes alone replace the trams: no detour for anyone
        ("tram_track", "lane_reduction", ["car", "tram", "bus"], False, True,
         {"tram": rt.Alert.REDUCED_SERVICE, "bus": rt.Alert.REDUCED_SERVICE}),
        ("sewer", "one_way", ["car"], False, True, {"tram": None, "bus": rt.Alert.REDUCED_SERVICE}),
        # a full closure stops the trams and diverts the buses, as before
        ("tram_track", "full_closure", ["car", "tram", "bus"], True, True,
         {"tram": rt.Alert.NO_SERVICE, "bus": rt.Alert.DETOUR}),
        # the bus lane alone: the buses use the next lane, or the diversion where one is given
        ("sewer", "full_closure", ["bus"], True, False, {"tram": None, "bus": rt.Alert.DETOUR}),
        ("sewer", "full_closure", ["bus"], False, False, {"tram": None, "bus": rt.Alert.REDUCED_SERVICE}),
        # the footway or the cycle lane alone: the buses drive on
        ("sewer", "full_closure", ["pedestrian"], True, False, {"tram": None, "bus": None}),
        ("sewer", "full_closure", ["cycle"], True, False, {"tram": None, "bus": None}),
    ],
)
def test_only_buses_are_diverted_and_only_by_a_diversion_or_a_full_closure(
        kind, impact, modes, diversion, replacement, expected) -> None:  # noqa: ANN001
    site = _site(kind, impact, modes, diversion=diversion, replacement=replacement)
    assert {mode: effect_for(site, mode) for mode in expected} == expected
