"""DATEX II: a record that a still-published site no longer has is listed as cancelled, as the records of a withdrawn
site are (``informationManagement``, Exchange 2020, as NDW does), so that consumers stop showing the road closed."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime

import pytest
from lxml import etree
from shapely.geometry import LineString
from sqlalchemy import text

from service.feeds import datex2
from service.feeds.common import FeedMeta, FeedSite
from tests.feeds.validators import DATEX_NS, assert_datex_valid

URL = "/feeds/datex2/situations.xml"
REFS = "con:informationManagement/inf:informationManagedResourceList/inf:elementReference"


def _get(client) -> tuple[etree._Element, object]:  # noqa: ANN001
    response = client.get(URL)
    assert response.status_code == 200
    return assert_datex_valid(response.content), response  # against the official XSDs


def _records(doc: etree._Element, request_id) -> dict[str, str]:  # noqa: ANN001
    return {rec.get("id"): rec.get("version")
            for rec in doc.xpath(f"//sit:situation[@id='{request_id}']/sit:situationRecord", namespaces=DATEX_NS)}


def _cancelled(doc: etree._Element) -> dict[str, tuple[str, str]]:
    return {ref.find("inf:versionedReference", DATEX_NS).get("id"): (
        ref.findtext("inf:managementStatus", namespaces=DATEX_NS),
        ref.find("inf:versionedReference", DATEX_NS).get("version")) for ref in doc.iterfind(REFS, DATEX_NS)}


def test_a_closure_that_becomes_a_footway_restriction_cancels_its_closure_and_rerouting_records(
        client, make_site, city, db) -> None:  # noqa: ANN001
    req = make_site(city, slot=(date(2027, 4, 1), date(2027, 5, 30)))  # full closure for cars and cycles, diversion
    doc, _ = _get(client)
    rid = req.id
    assert _records(doc, rid) == {f"{rid}_works": "1", f"{rid}_closure": "1", f"{rid}_rerouting": "1"}
    assert _cancelled(doc) == {}

    req.modes = ["pedestrian"]  # only the footway closes now (an approved change, or direct SQL: the feed sees both)
    db.flush()
    doc, first = _get(client)
    assert _records(doc, rid) == {f"{rid}_works": "2"}
    # the records consumers hold, with the version they were last published in
    assert _cancelled(doc) == {f"{rid}_closure": ("cancelled", "1"), f"{rid}_rerouting": ("cancelled", "1")}
    again, second = _get(client)  # reading again changes nothing: the same bytes, the same tag
    assert second.headers["etag"] == first.headers["etag"] and second.content == first.content

    req.modes = ["car", "cycle"]  # closed again: the records are back in the payload, no longer cancelled
    db.flush()
    doc, _ = _get(client)
    assert _records(doc, rid) == {f"{rid}_works": "3", f"{rid}_closure": "3", f"{rid}_rerouting": "3"}
    assert _cancelled(doc) == {}


def test_a_diversion_given_up_cancels_the_rerouting_record(client, make_site, city, db) -> None:  # noqa: ANN001
    req = make_site(city, kind="gas", impact="lane_reduction")
    other = make_site(city, kind="water")
    doc, _ = _get(client)
    assert set(_records(doc, req.id)) == {f"{req.id}_works", f"{req.id}_closure", f"{req.id}_rerouting"}
    db.execute(text("update site_requests set diversions_geom = null, version = version + 1 where id = :id"),
               {"id": req.id})
    doc, _ = _get(client)
    assert _records(doc, req.id) == {f"{req.id}_works": "2", f"{req.id}_closure": "2"}
    assert _cancelled(doc) == {f"{req.id}_rerouting": ("cancelled", "1")}
    assert set(_records(doc, other.id)) == {f"{other.id}_works", f"{other.id}_closure", f"{other.id}_rerouting"}


def test_a_site_changed_and_withdrawn_between_two_syncs_cancels_every_record_it_published(
        client, make_site, city, db) -> None:  # noqa: ANN001
    req = make_site(city)
    doc, _ = _get(client)
    assert len(_records(doc, req.id)) == 3
    req.modes = ["pedestrian"]
    req.status = "withdrawn"
    db.flush()
    doc, _ = _get(client)
    assert _records(doc, req.id) == {}
    assert _cancelled(doc) == {f"{req.id}_works": ("cancelled", "1"), f"{req.id}_closure": ("cancelled", "1"),
                               f"{req.id}_rerouting": ("cancelled", "1")}


def test_a_dropped_record_is_listed_for_the_retention_time_and_then_leaves(client, make_site, city, db) -> None:  # noqa: ANN001
    req = make_site(city)
    _get(client)
    req.modes = ["pedestrian"]
    db.flush()
    doc, listed = _get(client)
    assert set(_cancelled(doc)) == {f"{req.id}_closure", f"{req.id}_rerouting"}
    db.execute(text("update feed_dropped_records set dropped_at = dropped_at - interval '8 days'"))
    doc, gone = _get(client)
    assert _cancelled(doc) == {}
    assert _records(doc, req.id) == {f"{req.id}_works": "2"}
    assert gone.headers["etag"] != listed.headers["etag"]


def test_publications_from_before_the_records_were_kept_drop_nothing(client, make_site, city, db) -> None:  # noqa: ANN001
    """A row published by an older version has no records: its next sync records them, and cancels nothing."""
    req = make_site(city)
    _get(client)
    db.execute(text("update feed_publications set records = null, records_version = null"))
    req.modes = ["pedestrian"]
    db.flush()
    doc, _ = _get(client)
    assert _records(doc, req.id) == {f"{req.id}_works": "2"}
    assert _cancelled(doc) == {}
    assert db.execute(text("select records from feed_publications where request_id = :id"),
                      {"id": req.id}).scalar_one() == [f"{req.id}_works"]


MODES = ["car", "cycle", "pedestrian", "bus", "tram", "rail", "transit"]
META = FeedMeta(publisher="Stadt Essen", license="dl-de/by-2-0", license_url="https://www.govdata.de/dl-de/by-2-0",
                public_url="https://example.org", timezone="Europe/Berlin", updated=datetime(2026, 11, 21, tzinfo=UTC))


@pytest.mark.parametrize("kind", ["sewer", "tram_track", "rail", "road_construction"])
def test_the_stored_records_are_those_the_payload_publishes(kind: str) -> None:
    """``datex2.site_records`` (from the request's fields, stored per publication) names exactly the records of the
    situation built from a FeedSite, for every impact, set of modes and diversion."""
    now = datetime(2026, 11, 21, tzinfo=UTC)
    for impact, diversion, n in itertools.product(["none", "footway", "lane_reduction", "one_way", "full_closure"],
                                                  [True, False], range(3)):
        for modes in itertools.combinations(MODES, n):
            site = FeedSite(
                id=uuid.uuid4(), title="Baustelle", description="", kind=kind, impact=impact, modes=list(modes),
                shift="continuous", urgency="planned", status="approved", owner_id=uuid.uuid4(),
                owner_name="Stadt Essen", geometry=LineString([(7.0, 51.44), (7.001, 51.441)]),
                has_diversion=diversion, has_replacement=False, start=date(2027, 4, 1), end=date(2027, 4, 30),
                from_slot=True, version=1, first_published=now, last_changed=now)
            doc = etree.fromstring(datex2.build([site], [], META))
            built = [rec.get("id") for rec in doc.iterfind(".//sit:situationRecord", DATEX_NS)]
            stored = datex2.site_records(str(site.id), kind, impact, modes, diversion)
            assert built == stored, (kind, impact, modes, diversion)
