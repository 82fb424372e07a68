"""GTFS-Realtime alerts: built with the official bindings, parsed back; routes/stops from transit corridors."""

from __future__ import annotations

from datetime import date

from geoalchemy2.shape import from_shape
from google.protobuf import json_format, text_format
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import start_instant
from tests.feeds.validators import STANDARDS

URL = "/feeds/gtfs-rt/alerts.pb"
# Rüttenscheider Straße, Essen (the default site of site_body) and a street 2 km away.
RUETTENSCHEID = [[7.0001, 51.4402], [7.0012, 51.4371]]
ELSEWHERE = [[7.0300, 51.4600], [7.0312, 51.4571]]


def _corridor(db, name: str, kind: str, coords, routes, stops, buffer_m: float = 30.0) -> Corridor:  # noqa: ANN001
    corridor = Corridor(name=name, kind=kind, buffer_m=buffer_m, routes=routes, stops=stops,
                        geom=from_shape(LineString(coords), srid=4326))
    db.add(corridor)
    db.flush()
    return corridor


def _feed(client) -> rt.FeedMessage:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    feed = rt.FeedMessage()
    feed.ParseFromString(response.content)
    assert feed.header.gtfs_realtime_version == "2.0"
    assert feed.header.incrementality == rt.FeedHeader.FULL_DATASET
    return feed


def _texts(translated: rt.TranslatedString) -> dict[str, str]:
    return {t.language: t.text for t in translated.translation}


def test_the_official_alerts_example_parses_with_the_bindings() -> None:
    example = (STANDARDS / "gtfs-realtime" / "alerts-example.asciipb").read_text()
    feed = text_format.Parse(example, rt.FeedMessage())
    assert feed.entity[0].alert.cause == rt.Alert.CONSTRUCTION and feed.entity[0].alert.effect == rt.Alert.DETOUR


def test_alerts_carry_effect_periods_translations_and_informed_entities(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Straßenbahn 107/108 Rüttenscheider Straße", "tram",
              [[7.0000, 51.4405], [7.0013, 51.4368]], ["107", {"id": "108", "name": "108"}],
              [{"id": "de:05113:9161", "name": "Rüttenscheider Stern"}])
    _corridor(db, "Bus 160 Rüttenscheid", "bus", [[7.0003, 51.4400], [7.0010, 51.4375]], ["160"], [])
    _corridor(db, "Bus 142 Ost", "bus", [[7.0301, 51.4601], [7.0311, 51.4572]], ["142"], [])
    _corridor(db, "Arterial without GTFS ids", "arterial", RUETTENSCHEID, [], [])

    tram_closure = make_site(city, kind="tram_track", diversions=[], slot=(date(2027, 4, 1), date(2027, 5, 30)))
    lanes = make_site(city, kind="water", impact="lane_reduction", diversions=[],
                      geometry={"type": "LineString", "coordinates": ELSEWHERE})
    nowhere = make_site(city, geometry={"type": "LineString", "coordinates": [[7.2, 51.5], [7.201, 51.501]]})
    draft = make_site(city, status="draft", kind="tram_track")

    feed = _feed(client)
    alerts = {e.id: e.alert for e in feed.entity}
    tram_id, bus_id = f"{tram_closure.id}:no_service", f"{tram_closure.id}:detour"
    assert set(alerts) == {tram_id, bus_id, f"{lanes.id}:reduced_service"}
    assert not any(str(nowhere.id) in key for key in alerts) and not any(str(draft.id) in key for key in alerts)

    tram = alerts[tram_id]
    assert tram.cause == rt.Alert.CONSTRUCTION and tram.effect == rt.Alert.NO_SERVICE
    # each route at the affected stop, not the whole routes
    assert [(e.route_id, e.stop_id) for e in tram.informed_entity] == [
        ("107", "de:05113:9161"), ("108", "de:05113:9161")]
    assert tram.active_period[0].start == int(start_instant(date(2027, 4, 1), "Europe/Berlin").timestamp())
    assert tram.active_period[0].end == int(start_instant(date(2027, 5, 31), "Europe/Berlin").timestamp())
    header, description = _texts(tram.header_text), _texts(tram.description_text)
    assert set(header) == {"de", "en"} and set(description) == {"de", "en"}
    assert header["de"] == "Kein Betrieb wegen Baustelle: Kanalerneuerung Rüttenscheider Straße"
    assert header["en"] == "No service due to construction: Kanalerneuerung Rüttenscheider Straße"
    # the trams' line is closed: the road closure is not theirs
    assert "vom 01.04.2027 bis 30.05.2027" in description["de"] and "Streckensperrung" in description["de"]
    assert "from 2027-04-01 to 2027-05-30" in description["en"] and "Line closed" in description["en"]
    assert "Vollsperrung" not in description["de"] and "Road closed" not in description["en"]

    bus = alerts[bus_id]  # a full closure on a bus corridor: the bus detours
    assert bus.effect == rt.Alert.DETOUR and [e.route_id for e in bus.informed_entity] == ["160"]
    assert alerts[f"{lanes.id}:reduced_service"].effect == rt.Alert.REDUCED_SERVICE
    assert [e.route_id for e in alerts[f"{lanes.id}:reduced_service"].informed_entity] == ["142"]

    # The same message as JSON, parsed back with the bindings.
    response = client.get(URL, params={"format": "json"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    as_json = json_format.Parse(response.text, rt.FeedMessage())
    assert abs(as_json.header.timestamp - feed.header.timestamp) <= 60  # each generated when it was first served
    as_json.header.timestamp = feed.header.timestamp
    assert as_json == feed


def test_a_diversion_makes_a_detour_and_a_withdrawn_site_disappears(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Bus 160", "bus", [[7.0003, 51.4400], [7.0010, 51.4375]], ["160"], [{"id": "S1", "name": "X"}])
    detour = make_site(city, impact="lane_reduction")  # site_body has a diversion
    feed = _feed(client)
    assert [(e.id, e.alert.effect) for e in feed.entity] == [(f"{detour.id}:detour", rt.Alert.DETOUR)]
    assert "Die Buslinie wird umgeleitet." in _texts(feed.entity[0].alert.description_text)["de"]

    detour.status = "withdrawn"
    db.flush()
    assert len(_feed(client).entity) == 0


def test_stops_with_positions_are_named_only_where_the_site_affects_them(client, make_site, city, db) -> None:  # noqa: ANN001
    # A tram line running south along 7.0 E, stops about 450 m north and south of the site, two further out, and
    # one registered without a position.
    stop = lambda ident, lat: {"id": ident, "name": ident, "lon": 7.0, "lat": lat}  # noqa: E731
    _corridor(db, "Tram 101", "tram", [[7.0, 51.4500], [7.0, 51.4280]], ["101"],
              [stop("north-2", 51.4480), stop("north-1", 51.4440), stop("south-1", 51.4340),
               stop("south-2", 51.4300), {"id": "unplaced", "name": "without position"}])
    # A bus line along 7.03 E with one stop 50 m from the second site and one 1.5 km away.
    _corridor(db, "Bus 142", "bus", [[7.03, 51.4700], [7.03, 51.4450]], ["142"],
              [{"id": "near", "lon": 7.0307, "lat": 51.4600}, {"id": "far", "lon": 7.03, "lat": 51.4470}])
    closure = make_site(city, kind="tram_track", diversions=[],
                        geometry={"type": "LineString", "coordinates": [[7.0, 51.4400], [7.0, 51.4380]]})
    lanes = make_site(city, kind="water", impact="lane_reduction", diversions=[],
                      geometry={"type": "LineString", "coordinates": [[7.0302, 51.4605], [7.0302, 51.4590]]})

    alerts = {e.id: e.alert for e in _feed(client).entity}
    tram = alerts[f"{closure.id}:no_service"]
    assert tram.effect == rt.Alert.NO_SERVICE
    # no service through the site: the trams turn at the last stop before it and the first after it
    assert [(e.route_id, e.stop_id) for e in tram.informed_entity] == [
        ("101", "north-1"), ("101", "south-1"), ("101", "unplaced")]
    bus = alerts[f"{lanes.id}:reduced_service"]
    assert bus.effect == rt.Alert.REDUCED_SERVICE
    assert [(e.route_id, e.stop_id) for e in bus.informed_entity] == [("142", "near")]


def test_the_effect_follows_the_impact_on_the_corridors_mode(client, make_site, city, db) -> None:  # noqa: ANN001
    _corridor(db, "Straßenbahn 107", "tram", [[7.0000, 51.4405], [7.0013, 51.4368]], ["107"],
              [{"id": "stern", "lon": 7.0006, "lat": 51.4390}])
    _corridor(db, "Bus 160", "bus", [[7.0003, 51.4400], [7.0010, 51.4375]], ["160"], [])
    _corridor(db, "S1", "rail", [[7.0300, 51.4700], [7.0300, 51.4500]], ["S1"],
              [{"id": "north", "lon": 7.0300, "lat": 51.4680}, {"id": "uni", "lon": 7.0300, "lat": 51.4600},
               {"id": "south", "lon": 7.0300, "lat": 51.4520}])
    # A sewer closes the road for cars and cycles; the trams keep running on their track, the buses detour.
    sewer = make_site(city, diversions=[])
    # The same works stopping the trams as well (modes name transit).
    sewer_trams = make_site(city, modes=["car", "cycle", "transit"], diversions=[])
    # Tram track works with one lane closed: the trams run, restricted.
    tram_lanes = make_site(city, kind="tram_track", impact="lane_reduction", modes=["car", "transit"], diversions=[])
    # A platform renewal that restricts nobody: the trains run; passengers at that stop are told.
    platform = make_site(city, title="Erneuerung Bahnsteig S-Bahn-Haltepunkt Universität", kind="rail",
                         impact="none", modes=[], diversions=[],
                         geometry={"type": "LineString", "coordinates": [[7.0301, 51.4602], [7.0301, 51.4598]]})

    alerts = {e.id: e.alert for e in _feed(client).entity}
    selectors = {key: [(e.route_id, e.stop_id) for e in alert.informed_entity] for key, alert in alerts.items()}
    assert set(alerts) == {f"{sewer.id}:detour", f"{sewer_trams.id}:no_service", f"{sewer_trams.id}:detour",
                           f"{tram_lanes.id}:reduced_service", f"{platform.id}:other_effect"}

    assert alerts[f"{sewer.id}:detour"].effect == rt.Alert.DETOUR and selectors[f"{sewer.id}:detour"] == [("160", "")]
    assert alerts[f"{sewer_trams.id}:no_service"].effect == rt.Alert.NO_SERVICE
    assert selectors[f"{sewer_trams.id}:no_service"] == [("107", "stern")]
    # not NO_SERVICE: a lane closure
    assert alerts[f"{tram_lanes.id}:reduced_service"].effect == rt.Alert.REDUCED_SERVICE
    assert selectors[f"{tram_lanes.id}:reduced_service"] == [("160", ""), ("107", "stern")]  # corridors by name

    notice = alerts[f"{platform.id}:other_effect"]
    assert notice.effect == rt.Alert.OTHER_EFFECT and selectors[f"{platform.id}:other_effect"] == [("S1", "uni")]
    header = _texts(notice.header_text)
    assert header == {"de": "Bauarbeiten: Erneuerung Bahnsteig S-Bahn-Haltepunkt Universität",
                      "en": "Construction work: Erneuerung Bahnsteig S-Bahn-Haltepunkt Universität"}
    assert "No traffic restriction" in _texts(notice.description_text)["en"]


def test_an_alert_keeps_its_id_when_a_corridor_is_registered_beside_it(client, make_site, city, coordinator,  # noqa: ANN001
                                                                       db) -> None:
    # GTFS-RT Best Practices: FeedEntity.id persists across feed iterations. The id was the bare request id while a
    # site had one effect and "<id>:detour" once a second effect came: apps saw the alert deleted and re-created.
    _corridor(db, "Bus 160", "bus", [[7.0003, 51.4400], [7.0010, 51.4375]], ["160"], [])
    site = make_site(city, modes=["car", "cycle", "transit"], diversions=[])  # the buses detour, the trams stop
    before = {e.id: e.alert.effect for e in _feed(client).entity}
    assert before == {f"{site.id}:detour": rt.Alert.DETOUR}

    tram = client.post("/v1/corridors", headers=coordinator.headers, json={
        "name": "Straßenbahn 107", "kind": "tram", "buffer_m": 30, "routes": ["107"],
        "geometry": {"type": "LineString", "coordinates": [[7.0000, 51.4405], [7.0013, 51.4368]]}})
    assert tram.status_code == 201, tram.text
    after = {e.id: e.alert.effect for e in _feed(client).entity}
    assert after == {f"{site.id}:detour": rt.Alert.DETOUR, f"{site.id}:no_service": rt.Alert.NO_SERVICE}

    assert client.delete(tram.headers["location"], headers=coordinator.headers).status_code == 204
    assert {e.id: e.alert.effect for e in _feed(client).entity} == before
