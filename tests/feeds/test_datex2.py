"""DATEX II v3.6: the publication validates against the official XSDs, versions updates, cancels withdrawals."""

from __future__ import annotations

from datetime import date

from lxml import etree

from service.slots.models import Slot
from tests.feeds.validators import DATEX_DIR, DATEX_NS, assert_datex_valid, datex_container_schema
from tests.workflow.flow import d

URL = "/feeds/datex2/situations.xml"
NS = {**DATEX_NS, "xsi": "http://www.w3.org/2001/XMLSchema-instance"}
XSI_TYPE = f"{{{NS['xsi']}}}type"

POLYGON = {"type": "Polygon", "coordinates": [[[7.01, 51.45], [7.012, 51.45], [7.012, 51.451], [7.01, 51.451],
                                                [7.01, 51.45]]]}
SPLIT_LINES = {"type": "MultiLineString", "coordinates": [[[7.02, 51.46], [7.021, 51.461]],
                                                          [[7.03, 51.47], [7.031, 51.471]]]}


def _get(client) -> etree._Element:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    return assert_datex_valid(response.content)


def _situation(doc: etree._Element, request_id) -> etree._Element | None:  # noqa: ANN001
    found = doc.xpath(f"//sit:situation[@id='{request_id}']", namespaces=NS)
    return found[0] if found else None


def test_the_validator_accepts_the_real_ndw_sample_and_rejects_a_broken_document() -> None:
    ndw = etree.parse(str(DATEX_DIR.parent / "samples" / "netherlands_situations.xml"))
    assert datex_container_schema().validate(ndw)
    broken = etree.fromstring(etree.tostring(ndw))
    record = broken.xpath("//sit:situationRecord", namespaces=NS)[0]
    record.remove(record.xpath("sit:validity", namespaces=NS)[0])
    assert not datex_container_schema().validate(broken)


def test_approved_sites_are_published_as_valid_situations_with_records_of_the_fitting_type(
    client, make_site, city, utility  # noqa: ANN001
) -> None:
    sewer = make_site(utility, slot=(date(2027, 4, 1), date(2027, 5, 30)))
    road = make_site(city, kind="road_construction", impact="lane_reduction", geometry=POLYGON, diversions=[],
                     status="active")
    event = make_site(city, kind="event", impact="footway", diversions=[],
                      geometry={"type": "Point", "coordinates": [7.005, 51.442]})
    split = make_site(city, kind="road_maintenance", impact="one_way", geometry=SPLIT_LINES, diversions=[])

    doc = _get(client)
    payload = doc.find("con:payload", NS)
    assert payload.get(XSI_TYPE) == "sit:SituationPublication"
    assert payload.findtext("com:publicationCreator/com:country", namespaces=NS) == "de"
    feed_description = payload.findtext("com:feedDescription/com:values/com:value", namespaces=NS)
    assert "Regionale Koordinierungsstelle Baustellen Ruhr" in feed_description
    assert "dl-de/by-2-0" in feed_description

    sit = _situation(doc, sewer.id)
    records = {r.get("id"): r for r in sit.findall("sit:situationRecord", NS)}
    works = records[f"{sewer.id}_works"]
    assert works.get(XSI_TYPE) == "sit:MaintenanceWorks" and works.get("version") == "1"
    assert works.findtext("sit:subjects/sit:subjectTypeOfWorks", namespaces=NS) == "sewer"
    assert works.findtext("sit:source/com:sourceName/com:values/com:value", namespaces=NS) == "Stadtwerke Essen"
    # The slot's dates, local midnight to local midnight after the inclusive end, in UTC.
    assert works.findtext(".//com:overallStartTime", namespaces=NS) == "2027-03-31T22:00:00Z"
    assert works.findtext(".//com:overallEndTime", namespaces=NS) == "2027-05-30T22:00:00Z"
    closure = records[f"{sewer.id}_closure"]
    assert closure.get(XSI_TYPE) == "sit:RoadOrCarriagewayOrLaneManagement"
    assert closure.findtext("sit:roadOrCarriagewayOrLaneManagementType", namespaces=NS) == "roadClosed"
    assert records[f"{sewer.id}_rerouting"].get(XSI_TYPE) == "sit:ReroutingManagement"
    line = works.find("sit:locationReference", NS)
    assert line.get(XSI_TYPE) == "loc:LinearLocation"
    # latitude first, as GML in EPSG:4326 wants
    assert line.findtext(".//loc:posList", namespaces=NS).startswith("51.440200 7.000100")
    assert line.findtext(".//loc:roadName", namespaces=NS) == "Rüttenscheider Straße"

    sit = _situation(doc, road.id)
    works = sit.find("sit:situationRecord", NS)
    assert works.get(XSI_TYPE) == "sit:ConstructionWorks"
    assert works.findtext("sit:operatorActionStatus", namespaces=NS) == "beingImplemented"
    assert works.find("sit:locationReference", NS).get(XSI_TYPE) == "loc:AreaLocation"
    assert sit.xpath("sit:situationRecord/sit:roadOrCarriagewayOrLaneManagementType/text()",
                     namespaces=NS) == ["laneClosures"]

    sit = _situation(doc, event.id)
    assert [r.get(XSI_TYPE) for r in sit.findall("sit:situationRecord", NS)] == ["sit:PublicEvent"]
    assert sit.find("sit:situationRecord/sit:locationReference", NS).get(XSI_TYPE) == "loc:PointLocation"

    sit = _situation(doc, split.id)
    group = sit.find("sit:situationRecord/sit:locationReference", NS)
    assert group.get(XSI_TYPE) == "loc:LocationGroupByList"
    assert len(group.findall("loc:locationContainedInGroup", NS)) == 2


def test_unpublished_requests_never_appear_and_emergencies_appear_at_once(client, make_site, city) -> None:  # noqa: ANN001
    draft = make_site(city, status="draft")
    submitted = make_site(city, status="submitted")
    proposed = make_site(city, status="slot_proposed", slot=(date(2027, 4, 1), date(2027, 5, 30)),
                         slot_status="proposed")
    emergency = make_site(city, status="submitted", urgency="emergency", kind="water", earliest_start=d(0),
                          latest_end=d(59), duration_days=10, preferred_start=None)  # an emergency starts today
    doc = _get(client)
    for req in (draft, submitted, proposed):
        assert _situation(doc, req.id) is None
    works = _situation(doc, emergency.id).find("sit:situationRecord", NS)
    assert works.findtext("sit:validity/com:validityStatus", namespaces=NS) == "active"
    assert works.findtext("sit:urgentRoadworks", namespaces=NS) == "true"
    assert works.findtext("sit:roadMaintenanceType", namespaces=NS) == "repairWork"


def test_an_update_is_a_new_version_and_a_withdrawal_a_cancellation(client, make_site, city, db) -> None:  # noqa: ANN001
    req = make_site(city, slot=(date(2027, 4, 1), date(2027, 5, 30)))
    other = make_site(city, kind="gas", impact="lane_reduction")
    doc = _get(client)
    assert _situation(doc, req.id).find("sit:situationRecord", NS).get("version") == "1"
    assert doc.find("con:informationManagement", NS) is None

    unchanged = _get(client)  # reading again changes nothing
    assert _situation(unchanged, req.id).find("sit:situationRecord", NS).get("version") == "1"

    slot = db.get(Slot, req.id)
    slot.start, slot.end = date(2027, 6, 1), date(2027, 7, 30)
    db.flush()
    doc = _get(client)
    works = _situation(doc, req.id).find("sit:situationRecord", NS)
    assert works.get("id") == f"{req.id}_works" and works.get("version") == "2"
    assert works.findtext(".//com:overallStartTime", namespaces=NS) == "2027-05-31T22:00:00Z"
    assert _situation(doc, other.id).find("sit:situationRecord", NS).get("version") == "1"

    req.status = "withdrawn"
    other.status = "completed"
    db.flush()
    doc = _get(client)
    assert _situation(doc, req.id) is None and _situation(doc, other.id) is None
    refs = {
        ref.find("inf:versionedReference", NS).get("id"): (
            ref.findtext("inf:managementStatus", namespaces=NS), ref.find("inf:versionedReference", NS).get("version"))
        for ref in doc.iterfind("con:informationManagement/inf:informationManagedResourceList/inf:elementReference",
                                NS)
    }
    assert refs == {
        f"{req.id}_works": ("cancelled", "2"), f"{req.id}_closure": ("cancelled", "2"),
        f"{req.id}_rerouting": ("cancelled", "2"),
        f"{other.id}_works": ("closed", "1"), f"{other.id}_closure": ("closed", "1"),
        f"{other.id}_rerouting": ("closed", "1"),
    }

    req.status = "approved"  # approved again (e.g. after a change request): a new version, no longer cancelled
    db.flush()
    doc = _get(client)
    assert _situation(doc, req.id).find("sit:situationRecord", NS).get("version") == "3"
    assert f"{req.id}_works" not in etree.tostring(doc.find("con:informationManagement", NS)).decode()
