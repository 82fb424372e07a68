"""A diversion of works on the track only is no road diversion: a tram track bed shared with buses is closed, the
buses detour, the cars beside it drive on. DATEX II has no rerouting (and no closure) record for it, published or
ended, WZDx no work zone or detour; works in the road keep both."""

from __future__ import annotations

from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

NS = DATEX_NS
BUS_DIVERSION = [{"type": "LineString", "coordinates": [[7.0030, 51.4405], [7.0041, 51.4368]]}]


def _records(doc, request_id) -> list[str]:  # noqa: ANN001
    return doc.xpath(f"//sit:situation[@id='{request_id}']/sit:situationRecord/@id", namespaces=NS)


def _cancellations(doc) -> dict[str, str]:  # noqa: ANN001
    refs = doc.iterfind("con:informationManagement/inf:informationManagedResourceList/inf:elementReference", NS)
    return {ref.find("inf:versionedReference", NS).get("id"): ref.findtext("inf:managementStatus", namespaces=NS)
            for ref in refs}


def test_track_works_with_a_bus_diversion_are_no_road_rerouting_in_datex2_or_wzdx(
        client, make_site, city, db) -> None:  # noqa: ANN001
    # the QA case: a track bed the buses share with the trams, closed, the buses diverted
    shared_bed = make_site(city, title="Gleiserneuerung ÖPNV-Trasse Rüttenscheid", kind="tram_track",
                           impact="full_closure", modes=["tram", "bus"], diversions=BUS_DIVERSION)
    # a tram on its own track bed (transit, as before), with a diversion recorded
    own_bed = make_site(city, title="Gleiserneuerung Stadtbahn", kind="tram_track", impact="one_way",
                        modes=["transit"], diversions=BUS_DIVERSION)
    # S-Bahn works with a diversion for the replacement buses
    s_bahn = make_site(city, title="S1 Sperrpause", kind="rail", impact="full_closure", modes=["rail"],
                       diversions=BUS_DIVERSION)
    # the same tram works in the street: the road is closed and its traffic follows the diversion
    street = make_site(city, title="Gleiserneuerung Rüttenscheider Straße", kind="tram_track",
                       impact="full_closure", modes=["car", "cycle", "tram", "bus"], diversions=BUS_DIVERSION)

    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    for track in (shared_bed, own_bed, s_bahn):
        assert _records(doc, track.id) == [f"{track.id}_works"], track.title
        assert doc.xpath(f"//sit:situation[@id='{track.id}']//sit:reroutingManagementType", namespaces=NS) == []
    assert _records(doc, street.id) == [f"{street.id}_works", f"{street.id}_closure", f"{street.id}_rerouting"]
    [rerouting] = doc.xpath(f"//sit:situationRecord[@id='{street.id}_rerouting']", namespaces=NS)
    assert rerouting.findtext("sit:reroutingManagementType", namespaces=NS) == "followDiversionSigns"

    # WZDx: no work zone, and no detour, for the works on the track; the street's diversion is a detour
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(wzdx) == []
    assert [(f["id"], f["properties"]["core_details"]["event_type"], f["properties"].get("vehicle_impact"))
            for f in wzdx["features"]] == [(str(street.id), "work-zone", "all-lanes-closed"),
                                           (f"{street.id}:detour-1", "detour", None)]

    # Ended: the cancellations name what was published, so no rerouting record for the works on the track
    shared_bed.status, own_bed.status, s_bahn.status, street.status = "withdrawn", "completed", "rejected", "withdrawn"
    db.flush()
    doc = assert_datex_valid(client.get("/feeds/datex2/situations.xml").content)
    assert _cancellations(doc) == {
        f"{shared_bed.id}_works": "cancelled",
        f"{own_bed.id}_works": "closed",
        f"{s_bahn.id}_works": "cancelled",
        f"{street.id}_works": "cancelled",
        f"{street.id}_closure": "cancelled",
        f"{street.id}_rerouting": "cancelled",
    }
