"""The impact on the vehicles on the road follows what the request says is affected (``common.vehicle_impact``): a
full closure of the footway, the cycle lane or the bus lane alone is no road closure in WZDx, DATEX II, the texts or
for the buses in GTFS-RT. A footway closure is published as impact ``footway`` is."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import impact_text, vehicle_impact
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

NS = DATEX_NS
# Rüttenscheider Straße (the default site of site_body, which has a diversion) with a bus line in it
BUS_LINE = [[7.0003, 51.4400], [7.0010, 51.4375]]


@pytest.mark.parametrize(
    ("kind", "impact", "modes", "expected"),
    [
        ("sewer", "full_closure", ["car", "cycle"], "full_closure"),  # as before
        ("sewer", "full_closure", [], "full_closure"),  # nothing said: the road, as before
        ("sewer", "lane_reduction", ["car"], "lane_reduction"),
        ("sewer", "full_closure", ["pedestrian"], "footway"),  # as impact footway
        ("sewer", "lane_reduction", ["pedestrian"], "footway"),
        ("sewer", "footway", ["pedestrian"], "footway"),
        ("sewer", "full_closure", ["cycle"], "cycle_lane"),  # the vehicle lanes stay open
        ("sewer", "one_way", ["pedestrian", "cycle"], "cycle_lane"),
        ("sewer", "full_closure", ["bus"], "bus_lane"),  # at most a lane closure for vehicles
        ("sewer", "full_closure", ["cycle", "bus"], "bus_lane"),  # a bus lane open to cycles
        ("sewer", "footway", ["pedestrian", "bus"], "footway"),  # a bus stop's platform
        ("sewer", "none", ["cycle"], "none"),
        ("sewer", "full_closure", ["tram"], "full_closure"),  # a tram track in the street
        ("sewer", "full_closure", ["transit"], "full_closure"),
        ("tram_track", "full_closure", ["cycle"], "cycle_lane"),
        ("tram_track", "full_closure", ["tram", "bus"], "none"),  # a track bed off the road
        ("rail", "full_closure", ["rail"], "none"),
        ("rail", "full_closure", ["car"], "full_closure"),  # a level crossing
    ],
)
def test_the_impact_on_vehicles_follows_the_named_modes(kind: str, impact: str, modes: list[str],
                                                        expected: str) -> None:
    assert vehicle_impact(kind, impact, modes) == expected


def test_a_closed_footway_cycle_lane_or_bus_lane_is_not_worded_as_a_road_closure() -> None:
    assert impact_text("sewer", "full_closure", ["pedestrian"]) == ("Gehweg gesperrt", "Footway closed")
    assert impact_text("sewer", "lane_reduction", ["pedestrian"]) == ("Gehweg eingeschränkt", "Footway restricted")
    assert impact_text("sewer", "full_closure", ["cycle"]) == ("Radweg gesperrt", "Cycle lane closed")
    assert impact_text("sewer", "full_closure", ["cycle", "pedestrian"]) == (
        "Geh- und Radweg gesperrt", "Footway and cycle lane closed")
    assert impact_text("sewer", "full_closure", ["bus"]) == ("Busspur gesperrt", "Bus lane closed")
    assert impact_text("sewer", "footway", ["pedestrian"]) == ("Gehweg eingeschränkt", "Footway restricted")
    assert impact_text("sewer", "full_closure", ["car", "pedestrian"]) == ("Vollsperrung", "Road closed")


def _situation(doc, request_id):  # noqa: ANN001, ANN202
    [situation] = doc.xpath(f"//sit:situation[@id='{request_id}']", namespaces=NS)
    return situation


def _comment(record) -> dict[str, str]:  # noqa: ANN001
    values = record.findall("sit:generalPublicComment/sit:comment/com:values/com:value", NS)
    return {v.get("lang"): v.text for v in values}


def test_a_footway_cycle_lane_or_bus_lane_closure_is_no_road_closure_in_any_feed(
        client, make_site, city, db) -> None:  # noqa: ANN001
    db.add(Corridor(name="Bus 160", kind="bus", buffer_m=30.0, routes=["160"], stops=[],
                    geom=from_shape(LineString(BUS_LINE), srid=4326)))
    db.flush()
    # the QA cases: impact full_closure for the footway, the cycle path, the bus lane alone (with site_body's
    # diversion, a detour for the pedestrians or the cyclists)
    footway = make_site(city, title="Gehwegsanierung Rüttenscheider Straße", modes=["pedestrian"])
    cycle = make_site(city, title="Radwegsanierung Rüttenscheider Straße", modes=["cycle"])
    bus = make_site(city, title="Busspur Rüttenscheider Straße", modes=["bus"], diversions=[])
    # for comparison: the same footway works with impact footway, and the road closure
    footway_impact = make_site(city, title="Gehweg Rüttenscheider Straße", impact="footway", modes=["pedestrian"])
    road = make_site(city, title="Kanal Rüttenscheider Straße", modes=["car", "cycle"], diversions=[])

    # WZDx: no work zone for the footway (as with impact footway), the vehicle lanes open beside the cycle lane
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(wzdx) == []
    assert {f["id"]: f["properties"]["vehicle_impact"] for f in wzdx["features"]} == {
        str(cycle.id): "all-lanes-open", str(bus.id): "some-lanes-closed", str(road.id): "all-lanes-closed"}

    # DATEX II: no roadClosed, no capacity 0, no "Vollsperrung"; the footway closure is published as impact footway
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    records = {s: [r.get("id") for r in _situation(doc, s.id).findall("sit:situationRecord", NS)]
               for s in (footway, cycle, bus, footway_impact)}
    assert records == {
        footway: [f"{footway.id}_works"],  # its diversion is the pedestrians': no rerouting for road users
        cycle: [f"{cycle.id}_works", f"{cycle.id}_closure", f"{cycle.id}_rerouting"],
        bus: [f"{bus.id}_works", f"{bus.id}_closure"],
        footway_impact: [f"{footway_impact.id}_works"],
    }
    severity = {s: _situation(doc, s.id).findtext("sit:overallSeverity", namespaces=NS)
                for s in (footway, cycle, bus, footway_impact, road)}
    assert severity == {footway: "low", cycle: "low", bus: "medium", footway_impact: "low", road: "high"}
    for site in (footway, cycle, bus):
        situation = _situation(doc, site.id)
        assert situation.xpath(".//sit:roadOrCarriagewayOrLaneManagementType[.='roadClosed']", namespaces=NS) == []
        assert situation.xpath(".//sit:capacityRemaining | .//sit:numberOfOperationalLanes", namespaces=NS) == []
        texts = _comment(situation.find("sit:situationRecord", NS))
        assert "Vollsperrung" not in texts["de"] and "Road closed" not in texts["en"], site.title
    assert "Gehweg gesperrt" in _comment(_situation(doc, footway.id).find("sit:situationRecord", NS))["de"]
    assert "Bus lane closed" in _comment(_situation(doc, bus.id).find("sit:situationRecord", NS))["en"]
    for record_id in (f"{cycle.id}_closure", f"{cycle.id}_rerouting"):  # the cycle lane's records: for bicycles
        [record] = doc.xpath(f"//sit:situationRecord[@id='{record_id}']", namespaces=NS)
        assert record.xpath("sit:forVehiclesWithCharacteristicsOf/com:vehicleType/text()", namespaces=NS) == [
            "bicycle"]
    [closure] = doc.xpath(f"//sit:situationRecord[@id='{cycle.id}_closure']", namespaces=NS)
    assert closure.findtext("sit:roadOrCarriagewayOrLaneManagementType", namespaces=NS) == "laneClosures"
    assert "Radweg gesperrt" in _comment(closure)["de"] and "Cycle lane closed" in _comment(closure)["en"]
    [closure] = doc.xpath(f"//sit:situationRecord[@id='{bus.id}_closure']", namespaces=NS)
    assert closure.findtext("sit:roadOrCarriagewayOrLaneManagementType", namespaces=NS) == "laneClosures"
    assert closure.find("sit:forVehiclesWithCharacteristicsOf", NS) is None

    # GTFS-RT: the buses use the next lane (no diversion given); the footway and the cycle lane leave them alone
    feed = rt.FeedMessage()
    feed.ParseFromString(client.get("/feeds/gtfs-rt/alerts.pb").content)
    alerts = {e.id: e.alert for e in feed.entity}
    assert {ident: alert.effect for ident, alert in alerts.items()} == {
        f"{bus.id}:reduced_service": rt.Alert.REDUCED_SERVICE, f"{road.id}:detour": rt.Alert.DETOUR}
    description = {t.language: t.text for t in alerts[f"{bus.id}:reduced_service"].description_text.translation}
    assert "Busspur gesperrt. Eingeschränkter Busverkehr." in description["de"]
    assert "umgeleitet" not in description["de"] and "Vollsperrung" not in description["de"]

    # Ended: the cancellations name the records that were published
    footway.status, cycle.status = "withdrawn", "withdrawn"
    db.flush()
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    cancelled = {ref.find("inf:versionedReference", NS).get("id")
                 for ref in doc.iterfind("con:informationManagement/inf:informationManagedResourceList/"
                                         "inf:elementReference", NS)}
    assert cancelled == {f"{footway.id}_works", f"{cycle.id}_works", f"{cycle.id}_closure",
                         f"{cycle.id}_rerouting"}
