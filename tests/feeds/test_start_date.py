"""When works begin, in all three feeds alike (``common.site_start``): works that are set up at the time they were
(the request's history; WZDx verified), works not yet set up at local midnight of their first day (Europe/Berlin);
never local midnight passed off as the real start of works that are set up."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString
from sqlalchemy import text

from service.conflicts.models import Corridor as CorridorRow
from service.feeds import datex2, gtfsrt, wzdx
from service.feeds.common import Corridor, FeedMeta, FeedSite, iso_z, site_start, start_instant
from service.slots.models import Slot
from tests.conftest import TODAY, site_body
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors
from tests.workflow.flow import approved, ok

BERLIN = ZoneInfo("Europe/Berlin")
META = FeedMeta(publisher="P", license="dl-de/by-2-0", license_url="https://www.govdata.de/dl-de/by-2-0",
                public_url="http://x", timezone="Europe/Berlin", updated=datetime(2027, 3, 1, tzinfo=UTC))
# the street of site_body, and a bus corridor along it (so that its works are in the GTFS-RT feed)
STREET = [[7.0001, 51.4402], [7.0012, 51.4371]]
BUS_160 = Corridor(id="c160", name="Bus 160", kind="bus", routes=["160"], stops=[], geometry=LineString(STREET))


def _site(status: str, activated_at: datetime | None, start: date = date(2027, 3, 1)) -> FeedSite:
    moment = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="Wasserrohrbruch Alfredstraße", description="", kind="water", impact="lane_reduction",
        modes=["car"], shift="continuous", urgency="emergency", status=status, owner_id=uuid.uuid4(), owner_name="o",
        geometry=LineString([[7.0, 51.44], [7.001, 51.441]]), has_diversion=False, has_replacement=False,
        start=start, end=start + timedelta(days=9), from_slot=True, version=1, first_published=moment,
        last_changed=moment, activated_at=activated_at, corridors=[BUS_160])


def _built_starts(site: FeedSite) -> tuple[str, set[str], set[int]]:
    """The start of one site as each feed builder writes it: WZDx ``start_date``, the DATEX II ``overallStartTime``
    of every record (the document valid against the XSD), the GTFS-RT ``active_period`` starts (parsed back)."""
    feature = wzdx.build([site], META)["features"]
    doc = assert_datex_valid(datex2.build([site], [], META))
    feed = rt.FeedMessage.FromString(gtfsrt.to_bytes(gtfsrt.build([site], META)))
    return (feature[0]["properties"]["start_date"],
            set(doc.xpath("//com:overallStartTime/text()", namespaces=DATEX_NS)),
            {p.start for e in feed.entity for p in e.alert.active_period})


def test_the_start_is_the_set_up_time_where_it_is_known_else_midnight_not_verified() -> None:
    midnight = start_instant(date(2027, 3, 1), "Europe/Berlin")  # 2027-02-28T23:00:00Z
    set_up = datetime(2027, 3, 1, 16, 19, 7, tzinfo=UTC)
    assert site_start(_site("active", set_up), "Europe/Berlin") == (set_up, True)
    assert site_start(_site("active", None), "Europe/Berlin") == (midnight, False)  # active, time not recorded
    early = midnight - timedelta(days=3)  # not in the period
    assert site_start(_site("active", early), "Europe/Berlin") == (midnight, False)
    assert site_start(_site("approved", None), "Europe/Berlin") == (midnight, False)  # planned
    [event] = wzdx.features(_site("active", set_up), META)
    props = event["properties"]
    assert (props["start_date"], props["is_start_date_verified"]) == ("2027-03-01T16:19:07Z", True)


@pytest.mark.parametrize(("status", "activated_at", "start", "expected"), [
    # set up: the time it was, in every feed
    ("active", datetime(2027, 3, 1, 16, 19, 7, tzinfo=UTC), date(2027, 3, 1), "2027-03-01T16:19:07Z"),
    # planned: local midnight of the first day, in winter (CET) and in summer (CEST)
    ("approved", None, date(2027, 3, 1), "2027-02-28T23:00:00Z"),
    ("approved", None, date(2027, 4, 1), "2027-03-31T22:00:00Z"),
    # active, but no set-up time recorded: midnight, as planned
    ("active", None, date(2027, 4, 1), "2027-03-31T22:00:00Z"),
])
def test_datex2_and_gtfsrt_start_where_wzdx_does(status: str, activated_at: datetime | None, start: date,
                                                 expected: str) -> None:
    moment = int(datetime.fromisoformat(expected).timestamp())
    assert _built_starts(_site(status, activated_at, start)) == (expected, {expected}, {moment})


def _corridor(db) -> None:  # noqa: ANN001
    db.add(CorridorRow(name="Bus 160 Rüttenscheid", kind="bus", buffer_m=30.0, routes=["160"], stops=[],
                       geom=from_shape(LineString(STREET), srid=4326)))
    db.flush()


def _wzdx(client, request_id: uuid.UUID) -> dict:  # noqa: ANN001
    """The properties of one request's road event in the served WZDx feed (valid against the schema)."""
    doc = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(doc) == []
    [props] = [f["properties"] for f in doc["features"] if f["id"] == str(request_id)]
    return props


def _served_starts(client, request_id: uuid.UUID) -> tuple[str, set[str], set[int]]:  # noqa: ANN001
    """As :func:`_built_starts`, for one request in the served feeds."""
    wzdx_start = _wzdx(client, request_id)["start_date"]
    response = client.get("/feeds/datex2/situations.xml")
    assert response.status_code == 200
    datex = assert_datex_valid(response.content).xpath(
        f"//sit:situation[@id='{request_id}']//com:overallStartTime/text()", namespaces=DATEX_NS)
    assert datex
    response = client.get("/feeds/gtfs-rt/alerts.pb")
    assert response.status_code == 200
    feed = rt.FeedMessage.FromString(response.content)
    gtfs = {p.start for e in feed.entity if e.id.split(":")[0] == str(request_id) for p in e.alert.active_period}
    assert gtfs
    return wzdx_start, set(datex), gtfs


def _set_up_at(db, request_id: uuid.UUID) -> datetime:  # noqa: ANN001
    activated = db.scalar(text("select max(at) from request_history where request_id = :id "
                               "and after ->> 'status' = 'active'"), {"id": request_id})
    assert activated is not None
    return activated


def _slot_on_set_up_day(db, request_id: uuid.UUID, activated: datetime) -> date:  # noqa: ANN001
    """The tests pin the service's day while the history keeps real times, so the set-up time may lie outside the
    slot the workflow gave: the slot on the day it was set up (as without a pinned day)."""
    slot = db.get(Slot, request_id)
    set_up_day = activated.astimezone(BERLIN).date()
    slot.start, slot.end = set_up_day, max(set_up_day, date.fromisoformat(TODAY)) + timedelta(days=10)
    db.flush()
    return set_up_day


def _at(moment: datetime) -> tuple[str, set[str], set[int]]:
    """What every feed shows as the start ``moment`` (seconds: the feeds have no finer times)."""
    return iso_z(moment), {iso_z(moment)}, {int(moment.timestamp())}


def test_an_emergency_starts_when_it_was_set_up_not_at_midnight(client, db, city) -> None:  # noqa: ANN001
    _corridor(db)
    today = date.fromisoformat(TODAY)
    body = site_body(title="Wasserrohrbruch Rüttenscheider Straße", kind="water", impact="lane_reduction",
                     urgency="emergency", earliest_start=TODAY, latest_end=(today + timedelta(days=59)).isoformat(),
                     duration_days=10, preferred_start=None)
    created = client.post("/v1/requests", json=body, headers=city.headers)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "active"  # the workflow sets an emergency up at once
    request_id = uuid.UUID(created.json()["id"])
    activated = _set_up_at(db, request_id)

    # never a verified start at midnight: where the set-up time lies outside the slot, midnight, not verified
    slot = db.get(Slot, request_id)
    in_slot = slot.start <= activated.astimezone(BERLIN).date() <= slot.end
    expected = activated if in_slot else start_instant(slot.start, "Europe/Berlin")
    props = _wzdx(client, request_id)
    assert (props["start_date"], props["is_start_date_verified"]) == (iso_z(expected), in_slot)
    assert _served_starts(client, request_id) == _at(expected)

    set_up_day = _slot_on_set_up_day(db, request_id, activated)
    assert _served_starts(client, request_id) == _at(activated)
    assert iso_z(activated) != iso_z(start_instant(set_up_day, "Europe/Berlin"))
    assert _wzdx(client, request_id)["is_start_date_verified"] is True


def test_works_start_when_their_owner_set_them_up_planned_ones_at_midnight(
    client, db, city, coordinator, make_site  # noqa: ANN001
) -> None:
    _corridor(db)
    started = uuid.UUID(approved(client, city, coordinator)["id"])
    planned = make_site(city, slot=(date(2027, 4, 1), date(2027, 5, 30)))  # approved, not set up
    # approved: the start is local midnight of the slot's first day (the service's today)
    assert _served_starts(client, started) == _at(start_instant(date.fromisoformat(TODAY), "Europe/Berlin"))

    assert ok(client, city, str(started), "start")["status"] == "active"
    activated = _set_up_at(db, started)
    _slot_on_set_up_day(db, started, activated)
    assert _served_starts(client, started) == _at(activated)
    assert _served_starts(client, planned.id) == _at(datetime(2027, 3, 31, 22, 0, tzinfo=UTC))  # CEST midnight
