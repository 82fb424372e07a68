"""WZDx 4.2: the feed validates against the official schemas; road-affecting approved sites only; day and night work
as one road event per shift, diversions as linked ``detour`` events, geometries as paths a map-matcher can read."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from shapely.geometry import shape

from service.feeds import wzdx
from service.feeds.common import CC0_URL, FeedMeta, FeedSite
from tests.conftest import TODAY
from tests.feeds.validators import wzdx_errors, wzdx_examples, wzdx_link_errors

URL = "/feeds/wzdx.geojson"
TZ = "Europe/Berlin"
# the diversion of tests.conftest.site_body, and a second route
ROUTE = [[7.003, 51.4405], [7.0041, 51.4368]]
ROUTE_2 = [[6.998, 51.4405], [6.9985, 51.437]]


def _feed(client) -> dict:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    doc = response.json()
    assert wzdx_errors(doc) == []
    assert wzdx_link_errors(doc) == []
    return doc


def _events(doc: dict) -> dict[str, dict]:
    return {f["id"]: f for f in doc["features"]}


def _links(feature: dict) -> list[tuple[str, str]]:
    return [(r["type"], r["id"]) for r in feature["properties"]["core_details"].get("related_road_events", [])]


def _utc(y: int, m: int, d: int, h: int) -> str:
    return datetime(y, m, d, h, tzinfo=UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def clock(monkeypatch) -> Callable[[int, int], datetime]:  # noqa: ANN001
    """``clock(hour, minute)``: the service's now is that local time on TODAY (2026-11-21, CET)."""
    from service.feeds import service

    current: dict[str, datetime] = {}
    monkeypatch.setattr(service, "local_now", lambda settings: current["now"])

    def set_clock(hour: int, minute: int = 0) -> datetime:
        current["now"] = datetime.combine(date.fromisoformat(TODAY), time(hour, minute), ZoneInfo(TZ))
        return current["now"]

    return set_clock


def test_the_validator_accepts_the_official_examples_and_rejects_a_broken_feed() -> None:
    examples = wzdx_examples()
    assert len(examples) == 9
    for path in examples:
        assert wzdx_errors(json.loads(path.read_text())) == [], path.name
        assert wzdx_link_errors(json.loads(path.read_text())) == [], path.name
    broken = json.loads(examples[0].read_text())
    broken["features"][0]["properties"]["vehicle_impact"] = "closed-ish"
    del broken["features"][0]["properties"]["core_details"]["road_names"]
    assert len(wzdx_errors(broken)) >= 1
    scenario4 = next(p for p in examples if p.name.startswith("scenario4")).read_text()
    one_way = json.loads(scenario4)
    one_way["features"][1]["properties"]["core_details"]["related_road_events"] = []  # no related-work-zone back
    assert len(wzdx_link_errors(one_way)) == 1
    twice = json.loads(scenario4)
    twice["features"][3]["id"] = twice["features"][2]["id"]  # a duplicate id, and a link to an event not there
    assert len(wzdx_link_errors(twice)) == 2


def test_approved_road_sites_appear_with_core_details_dates_and_impact(client, make_site, city) -> None:  # noqa: ANN001
    closure = make_site(city, slot=(date(2027, 4, 1), date(2027, 5, 30)))
    lanes = make_site(city, title="Fahrbahnsanierung Alfredstraße", kind="road_maintenance",
                      impact="lane_reduction", status="active", diversions=[],
                      geometry={"type": "Polygon", "coordinates": [[[7.01, 51.45], [7.012, 51.45], [7.012, 51.451],
                                                                    [7.01, 51.45]]]})
    point = make_site(city, impact="one_way", diversions=[],
                      geometry={"type": "Point", "coordinates": [7.005, 51.442]})
    footway = make_site(city, impact="footway", modes=["pedestrian"])
    submitted = make_site(city, status="submitted")

    doc = _feed(client)
    assert doc["feed_info"]["publisher"] == "Regionale Koordinierungsstelle Baustellen Ruhr"
    assert doc["feed_info"]["version"] == "4.2"
    assert "license" not in doc["feed_info"]  # WZDx only allows CC0 there; ours is stated in the Link header
    features = _events(doc)
    # the closure's diversion is a detour of its own (test_a_diversion_is_a_detour_event_linked_both_ways)
    assert set(features) == {str(closure.id), f"{closure.id}:detour-1", str(lanes.id), str(point.id)}
    assert str(footway.id) not in features and str(submitted.id) not in features

    props = features[str(closure.id)]["properties"]
    assert props["core_details"]["event_type"] == "work-zone"
    assert props["core_details"]["road_names"] == ["Rüttenscheider Straße"]
    assert props["core_details"]["data_source_id"] == str(city.org_id)
    assert props["start_date"] == "2027-03-31T22:00:00Z" and props["end_date"] == "2027-05-30T22:00:00Z"
    assert props["is_start_date_verified"] is False
    assert props["vehicle_impact"] == "all-lanes-closed"
    assert features[str(closure.id)]["geometry"]["type"] == "LineString"

    lane_props = features[str(lanes.id)]["properties"]
    assert lane_props["vehicle_impact"] == "some-lanes-closed"
    # active, but set so directly: no set-up time recorded, so midnight is no verified start (test_start_date.py)
    assert lane_props["is_start_date_verified"] is False
    assert lane_props["core_details"]["road_names"] == ["Alfredstraße"]
    assert "related_road_events" not in lane_props["core_details"]
    # a polygon: the two points of its boundary farthest apart, not the ring
    assert features[str(lanes.id)]["geometry"] == {"type": "MultiPoint",
                                                   "coordinates": [[7.01, 51.45], [7.012, 51.451]]}
    # a point: start and end at the same place, never a MultiPoint of one point
    assert features[str(point.id)]["geometry"] == {"type": "MultiPoint",
                                                   "coordinates": [[7.005, 51.442], [7.005, 51.442]]}
    assert {s["data_source_id"] for s in doc["feed_info"]["data_sources"]} == {str(city.org_id)}


def test_withdrawn_and_rejected_sites_disappear(client, make_site, city, db) -> None:  # noqa: ANN001
    keep = make_site(city, diversions=[])
    withdrawn = make_site(city)
    rejected = make_site(city, diversions=[])
    assert set(_events(_feed(client))) == {str(keep.id), str(withdrawn.id), f"{withdrawn.id}:detour-1",
                                           str(rejected.id)}
    withdrawn.status, rejected.status = "withdrawn", "rejected"
    db.flush()
    assert set(_events(_feed(client))) == {str(keep.id)}  # its detour went with it


def test_geometry_conversions_and_cc0_licence_stay_valid() -> None:
    moment = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)
    meta = FeedMeta(publisher="P", license="cc0-1.0", license_url=CC0_URL, public_url="http://x",
                    timezone="Europe/Berlin", updated=moment)
    geometries = [
        {"type": "MultiLineString", "coordinates": [[[7.0, 51.0], [7.1, 51.1]], [[7.1, 51.1], [7.2, 51.2]]]},
        {"type": "MultiLineString", "coordinates": [[[7.0, 51.0], [7.1, 51.1]], [[7.3, 51.3], [7.4, 51.4]]]},
        {"type": "MultiPolygon", "coordinates": [[[[7, 51], [7.1, 51], [7.1, 51.1], [7, 51]]],
                                                 [[[8, 51], [8.01, 51], [8.01, 51.01], [8, 51]]]]},
        {"type": "MultiPoint", "coordinates": [[7.0, 51.0], [7.1, 51.1]]},
    ]
    sites = [
        FeedSite(id=uuid.UUID(int=n + 1), title="B 224 Gladbecker Straße", description="", kind="bridge",
                 impact="full_closure", modes=["car"], shift="continuous", urgency="planned", status="approved",
                 owner_id=uuid.uuid4(), owner_name="Stadt Essen", geometry=shape(g), has_diversion=False,
                 has_replacement=False, start=date(2027, 2, 1), end=date(2027, 2, 28), from_slot=True, version=1,
                 first_published=moment, last_changed=moment)
        for n, g in enumerate(geometries)
    ]
    doc = wzdx.build(sites, meta)
    assert wzdx_errors(doc) == [] and wzdx_link_errors(doc) == []
    assert doc["feed_info"]["license"] == CC0_URL
    kinds = [(f["id"].split(":", 1)[-1] if ":" in f["id"] else "", f["geometry"]["type"]) for f in doc["features"]]
    assert kinds == [("", "LineString"), ("part-1", "LineString"), ("part-2", "LineString"),
                     ("part-1", "MultiPoint"), ("part-2", "MultiPoint"), ("part-1", "MultiPoint"),
                     ("part-2", "MultiPoint")]
    assert doc["features"][0]["geometry"]["coordinates"] == [[7.0, 51.0], [7.1, 51.1], [7.2, 51.2]]
    assert doc["features"][0]["properties"]["core_details"]["road_names"] == ["B 224", "Gladbecker Straße"]
    # each polygon of a MultiPolygon: its two farthest points (the hypotenuse of the triangles), each point of a
    # MultiPoint: start and end at the point
    assert [f["geometry"]["coordinates"] for f in doc["features"][3:]] == [
        [[7.0, 51.0], [7.1, 51.1]], [[8.0, 51.0], [8.01, 51.01]], [[7.0, 51.0], [7.0, 51.0]],
        [[7.1, 51.1], [7.1, 51.1]]]


def test_a_multilinestring_in_pieces_is_one_linked_event_per_piece(client, make_site, city) -> None:  # noqa: ANN001
    """Two streets of one site that do not meet: two paths in the order given, never a MultiPoint of their ends."""
    north = [[7.0001, 51.4402], [7.0012, 51.4371]]
    south = [[7.0101, 51.4302], [7.0112, 51.4271], [7.0120, 51.4260]]
    joined = [[7.0001, 51.4402], [7.0012, 51.4371], [7.0020, 51.4350]]
    site = make_site(city, diversions=[], geometry={"type": "MultiLineString", "coordinates": [north, south]})
    merged = make_site(city, diversions=[], geometry={"type": "MultiLineString",
                                                      "coordinates": [joined[:2], joined[1:]]})
    events = _events(_feed(client))
    first, second = events[f"{site.id}:part-1"], events[f"{site.id}:part-2"]
    assert str(site.id) not in events
    assert first["geometry"] == {"type": "LineString", "coordinates": north}
    assert second["geometry"] == {"type": "LineString", "coordinates": south}
    assert _links(first) == [("next-in-sequence", f"{site.id}:part-2")]
    assert _links(second) == [("first-in-sequence", f"{site.id}:part-1")]
    assert first["properties"]["start_date"] == second["properties"]["start_date"]
    # parts that connect are one line, one event with the request's id
    assert events[str(merged.id)]["geometry"] == {"type": "LineString", "coordinates": joined}
    assert _events(_feed(client)).keys() == events.keys()  # the same ids in the next iteration


def test_a_long_street_polygon_is_the_multipoint_of_its_two_ends(client, make_site, city) -> None:  # noqa: ANN001
    """A site drawn as an area along a street bending round a corner: its start and end, where a map-matcher can
    route between them along the road; not the ring round the area."""
    ring = [[7.0000, 51.4400], [7.0040, 51.4400], [7.0040, 51.4370], [7.0043, 51.4370], [7.0043, 51.4403],
            [7.0000, 51.4403], [7.0000, 51.4400]]
    site = make_site(city, diversions=[], geometry={"type": "Polygon", "coordinates": [ring]})
    geometry = _events(_feed(client))[str(site.id)]["geometry"]
    assert geometry == {"type": "MultiPoint", "coordinates": [[7.0, 51.4403], [7.0043, 51.437]]}


def test_a_diversion_is_a_detour_event_linked_both_ways(client, make_site, city) -> None:  # noqa: ANN001
    closure = make_site(city, description="Vollsperrung. Umleitung über Alfredstraße und Martinstraße.",
                        diversions=[{"type": "LineString", "coordinates": ROUTE},
                                    {"type": "LineString", "coordinates": ROUTE_2}],
                        slot=(date(2027, 4, 1), date(2027, 5, 30)))
    unnamed = make_site(city, impact="lane_reduction")
    cycle_lane = make_site(city, modes=["cycle"])  # the cyclists' diversion: the vehicle lanes stay open
    replacement = make_site(city, diversions=[], replacement_routes=[{"type": "LineString", "coordinates": ROUTE}])
    events = _events(_feed(client))

    zone = events[str(closure.id)]
    detours = [events[f"{closure.id}:detour-1"], events[f"{closure.id}:detour-2"]]
    assert _links(zone) == [("related-detour", f"{closure.id}:detour-1"),
                            ("related-detour", f"{closure.id}:detour-2")]
    for detour, route in zip(detours, (ROUTE, ROUTE_2), strict=True):
        props = detour["properties"]
        assert props["core_details"]["event_type"] == "detour"
        assert _links(detour) == [("related-work-zone", str(closure.id))]
        assert detour["geometry"] == {"type": "LineString", "coordinates": route}
        assert (props["start_date"], props["end_date"]) == ("2027-03-31T22:00:00Z", "2027-05-30T22:00:00Z")
        assert (props["is_start_date_verified"], props["is_end_date_verified"]) == (False, False)
        assert props["core_details"]["road_names"] == ["Alfredstraße", "Martinstraße"]
        assert props["core_details"]["data_source_id"] == str(city.org_id)
    assert detours[1]["properties"]["core_details"]["name"] == "Umleitung 2 – Kanalerneuerung Rüttenscheider Straße"
    # a description that names no street of the diversion: the road it bypasses
    assert events[f"{unnamed.id}:detour-1"]["properties"]["core_details"]["road_names"] == [
        "Umleitung Rüttenscheider Straße"]
    assert _links(events[str(unnamed.id)]) == [("related-detour", f"{unnamed.id}:detour-1")]
    # neither the cycle lane's diversion nor a replacement bus route is a detour for road traffic
    assert {ident for ident in events if ident.startswith((str(cycle_lane.id), str(replacement.id)))} == {
        str(cycle_lane.id), str(replacement.id)}


def test_night_work_is_one_road_event_per_night_linked_as_recurring_works(client, make_site, city) -> None:  # noqa: ANN001
    """The tram-track night site of 28 October to 2 November 2027, 20:00–07:00: six road events, each closed only for
    its night (across the end of summer time in the night of 30/31 October), none round the clock; its detour once
    per night."""
    site = make_site(city, title="Gleiserneuerung Rüttenscheider Straße", kind="tram_track", shift="night",
                     modes=["car", "tram"], slot=(date(2027, 10, 28), date(2027, 11, 2)))
    events = _events(_feed(client))
    days = [f"2027-10-{d}" for d in (28, 29, 30, 31)] + ["2027-11-01", "2027-11-02"]
    ids = [f"{site.id}:{day}" for day in days]
    assert str(site.id) not in events  # no road event from midnight of the first day to the end of the last night
    assert {ident for ident in events if ident.startswith(str(site.id))} == {
        *ids, *(f"{ident}:detour-1" for ident in ids)}
    periods = [(events[i]["properties"]["start_date"], events[i]["properties"]["end_date"]) for i in ids]
    assert periods == [
        (_utc(2027, 10, 28, 18), _utc(2027, 10, 29, 5)), (_utc(2027, 10, 29, 18), _utc(2027, 10, 30, 5)),
        (_utc(2027, 10, 30, 18), _utc(2027, 10, 31, 6)),  # twelve hours: the clocks go back at 03:00
        (_utc(2027, 10, 31, 19), _utc(2027, 11, 1, 6)), (_utc(2027, 11, 1, 19), _utc(2027, 11, 2, 6)),
        (_utc(2027, 11, 2, 19), _utc(2027, 11, 3, 6))]
    assert all(events[i]["properties"]["vehicle_impact"] == "all-lanes-closed" for i in ids)
    # scenario 5: the first occurrence links the next; every later one links the first and the next
    assert _links(events[ids[0]]) == [("next-occurrence", ids[1]), ("related-detour", f"{ids[0]}:detour-1")]
    assert _links(events[ids[2]]) == [("first-occurrence", ids[0]), ("next-occurrence", ids[3]),
                                      ("related-detour", f"{ids[2]}:detour-1")]
    assert _links(events[ids[-1]]) == [("first-occurrence", ids[0]), ("related-detour", f"{ids[-1]}:detour-1")]
    detour = events[f"{ids[2]}:detour-1"]
    assert (detour["properties"]["start_date"], detour["properties"]["end_date"]) == periods[2]
    assert _links(detour) == [("related-work-zone", ids[2]), ("first-occurrence", f"{ids[0]}:detour-1"),
                              ("next-occurrence", f"{ids[3]}:detour-1")]


def test_year_long_night_work_publishes_the_running_night_and_the_next_two_weeks(client, make_site, city,
                                                                                  clock) -> None:  # noqa: ANN001
    site = make_site(city, shift="night", diversions=[], slot=(date(2026, 11, 2), date(2027, 10, 30)))
    day = make_site(city, shift="day", diversions=[], slot=(date(2026, 11, 19), date(2026, 11, 21)))
    assert wzdx.SHIFT_HORIZON == 14

    clock(6, 30)  # the night begun yesterday at 20:00 runs until 07:00
    before = _feed(client)
    nights = [f for f in before["features"] if f["id"].startswith(str(site.id))]
    assert [f["id"] for f in nights] == [f"{site.id}:2026-11-{d}" for d in range(20, 31)] + [
        f"{site.id}:2026-12-0{d}" for d in range(1, 4)]
    assert nights[0]["properties"]["start_date"] == _utc(2026, 11, 20, 19)
    assert nights[0]["properties"]["end_date"] == _utc(2026, 11, 21, 6)
    assert nights[-1]["properties"]["end_date"] == _utc(2026, 12, 4, 6)
    assert [f["id"] for f in before["features"] if f["id"].startswith(str(day.id))] == [f"{day.id}:2026-11-21"]

    clock(7)  # the night is over: it leaves the feed, the horizon reaches one night further; the ids stay
    after = _feed(client)
    later = {f["id"]: f for f in after["features"] if f["id"].startswith(str(site.id))}
    assert list(later) == [f["id"] for f in nights[1:]] + [f"{site.id}:2026-12-04"]
    for night in nights[1:]:
        assert later[night["id"]]["geometry"] == night["geometry"]
        assert ({k: later[night["id"]]["properties"][k] for k in ("start_date", "end_date", "vehicle_impact")}
                == {k: night["properties"][k] for k in ("start_date", "end_date", "vehicle_impact")})
    assert _links(later[f"{site.id}:2026-11-25"])[0] == ("first-occurrence", f"{site.id}:2026-11-21")

    clock(20, 30)  # today's day shift is over: the day work has no road event left, though published until midnight
    assert not [f for f in _feed(client)["features"] if f["id"].startswith(str(day.id))]
