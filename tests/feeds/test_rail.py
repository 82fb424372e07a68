"""Works on a track that is not in the road (an S-Bahn line, a tram on its own track bed) are no road closures:
absent from WZDx, no closure record in DATEX II (published or ended), but an alert in GTFS-RT."""

from __future__ import annotations

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import impact_text, in_road
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

NS = DATEX_NS
# An S-Bahn line running east-west north of Rüttenscheid, away from the street sites of these tests.
S1_LINE = [[7.0200, 51.4600], [7.0500, 51.4600]]
S1_WORKS = {"type": "LineString", "coordinates": [[7.0300, 51.4600], [7.0400, 51.4600]]}
REPLACEMENT_BUS = {"type": "LineString", "coordinates": [[7.0300, 51.4590], [7.0400, 51.4590]]}


@pytest.mark.parametrize(
    ("kind", "modes", "expected"),
    [
        ("rail", ["rail"], False),  # S-Bahn track works
        ("rail", [], False),  # Deutsche Bahn track: not in the street unless the request says so
        ("rail", ["car"], True),  # a level crossing closed for cars
        ("tram_track", ["transit"], False),  # a tram on its own track bed or in a tunnel
        ("tram_track", ["transit", "pedestrian"], False),  # a tram stop's platform
        ("tram_track", ["car", "transit"], True),  # a tram track in the street: the lanes over it close
        ("tram_track", ["cycle"], True),
        ("tram_track", [], True),  # nothing said: tram tracks mostly lie in the street
        ("bridge", ["car", "cycle", "pedestrian", "rail"], True),  # a rail bridge over a street
        ("sewer", ["rail"], False),  # a sewer under the railway that affects only the trains
        ("sewer", ["transit"], True),  # a bus lane
        ("sewer", ["pedestrian"], True),
        ("sewer", [], True),
    ],
)
def test_works_are_in_the_road_when_road_traffic_is_affected(kind: str, modes: list[str], expected: bool) -> None:
    assert in_road(kind, modes) is expected


def test_track_works_are_not_worded_as_road_closures() -> None:
    assert impact_text("rail", "full_closure", ["rail"]) == ("Streckensperrung", "Line closed")
    assert impact_text("rail", "one_way", ["rail"]) == ("Eingleisiger Betrieb", "Single-track operation")
    assert impact_text("tram_track", "full_closure", ["car", "transit"]) == ("Vollsperrung", "Road closed")
    assert impact_text("sewer", "full_closure", ["car"]) == ("Vollsperrung", "Road closed")


def _texts(record, namespaces=NS) -> dict[str, str]:  # noqa: ANN001
    values = record.findall("sit:generalPublicComment/sit:comment/com:values/com:value", namespaces)
    return {v.get("lang"): v.text for v in values}


def test_a_rail_closure_is_no_road_closure_in_wzdx_and_datex2_but_an_alert_in_gtfsrt(
    client,
    make_site,
    city,
    db,  # noqa: ANN001
) -> None:
    db.add(
        Corridor(
            name="S1 Essen–Bochum",
            kind="rail",
            buffer_m=30.0,
            routes=["S1"],
            stops=[
                {"id": "hbf", "lon": 7.0210, "lat": 51.4600},
                {"id": "mid", "lon": 7.0350, "lat": 51.4600},
                {"id": "steele", "lon": 7.0490, "lat": 51.4600},
            ],
            geom=from_shape(LineString(S1_LINE), srid=4326),
        )
    )
    db.flush()
    s_bahn = make_site(
        city,
        title="S1: Gleis- und Weichenerneuerung Essen Hbf – Essen-Steele (Sperrpause)",
        description="Totalsperrung beider Gleise; Schienenersatzverkehr Essen Hbf – Essen-Steele über Steeler Straße.",
        kind="rail",
        impact="full_closure",
        modes=["rail"],
        geometry=S1_WORKS,
        diversions=[],
        replacement_routes=[REPLACEMENT_BUS],
    )
    own_bed = make_site(
        city,
        title="Gleiserneuerung Stadtbahn (besonderer Bahnkörper)",
        kind="tram_track",
        impact="full_closure",
        modes=["transit"],
        diversions=[],
    )
    street_tram = make_site(
        city,
        title="Gleiserneuerung Rüttenscheider Straße",
        kind="tram_track",
        impact="full_closure",
        modes=["car", "cycle", "transit"],
        diversions=[],
    )
    unsaid_tram = make_site(
        city, title="Schienentausch Steeler Straße", kind="tram_track", impact="lane_reduction", modes=[], diversions=[]
    )
    crossing = make_site(
        city, title="Bahnübergang Hachestraße", kind="rail", impact="full_closure", modes=["car"], diversions=[]
    )

    # WZDx: only the works in the road
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(wzdx) == []
    impacts = {f["id"]: f["properties"]["vehicle_impact"] for f in wzdx["features"]}
    assert impacts == {
        str(street_tram.id): "all-lanes-closed",
        str(unsaid_tram.id): "some-lanes-closed",
        str(crossing.id): "all-lanes-closed",
    }

    # DATEX II: the S-Bahn works are there as works, not as a closed road, and not on the replacement buses' street
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    [situation] = doc.xpath(f"//sit:situation[@id='{s_bahn.id}']", namespaces=NS)
    records = situation.findall("sit:situationRecord", NS)
    assert [r.get("id") for r in records] == [f"{s_bahn.id}_works"]
    assert situation.findtext("sit:overallSeverity", namespaces=NS) == "lowest"
    assert situation.xpath(".//loc:roadName/text()", namespaces=NS) == []
    texts = _texts(records[0])
    assert "Streckensperrung" in texts["de"] and "Line closed" in texts["en"]
    assert "Vollsperrung" not in texts["de"] and "Road closed" not in texts["en"]
    [situation] = doc.xpath(f"//sit:situation[@id='{own_bed.id}']", namespaces=NS)
    assert [r.get("id") for r in situation.findall("sit:situationRecord", NS)] == [f"{own_bed.id}_works"]
    [situation] = doc.xpath(f"//sit:situation[@id='{street_tram.id}']", namespaces=NS)
    assert situation.xpath("sit:situationRecord/sit:roadOrCarriagewayOrLaneManagementType/text()", namespaces=NS) == [
        "roadClosed"
    ]
    assert "Road closed" in _texts(situation.find("sit:situationRecord", NS))["en"]

    # GTFS-RT: the S-Bahn stops between the stations on either side, worded as a line closure
    feed = rt.FeedMessage()
    feed.ParseFromString(client.get("/feeds/gtfs-rt/alerts.pb").content)
    alerts = {e.id: e.alert for e in feed.entity}
    alert = alerts[f"{s_bahn.id}:no_service"]
    assert alert.effect == rt.Alert.NO_SERVICE
    assert [(e.route_id, e.stop_id) for e in alert.informed_entity] == [("S1", "hbf"), ("S1", "mid"), ("S1", "steele")]
    description = {t.language: t.text for t in alert.description_text.translation}
    assert "Line closed" in description["en"] and "Road closed" not in description["en"]
    assert "No trains run through the works area. Replacement buses are running." in description["en"]

    # Ended: the cancellations name the records that were published, no closure record for the S-Bahn
    s_bahn.status, street_tram.status = "withdrawn", "completed"
    db.flush()
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    refs = {
        ref.find("inf:versionedReference", NS).get("id"): ref.findtext("inf:managementStatus", namespaces=NS)
        for ref in doc.iterfind("con:informationManagement/inf:informationManagedResourceList/inf:elementReference", NS)
    }
    assert refs == {
        f"{s_bahn.id}_works": "cancelled",
        f"{street_tram.id}_works": "closed",
        f"{street_tram.id}_closure": "closed",
    }
