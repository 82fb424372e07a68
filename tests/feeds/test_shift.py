"""The hours of day and night work (the request's ``shift``, ``common.SHIFT_HOURS``: day 07:00–20:00, night
20:00–07:00 local time): a DATEX II ``validPeriod`` valid against the v3.6 XSDs, named in German, then English, and
named in the public comment; a night crosses midnight, so night work ends at 07:00 after its last day in all three
feeds (``common.site_end``); GTFS-RT gives one ``active_period`` per shift (``test_shift_periods.py``), WZDx one road
event per shift (``test_wzdx.py``).
``continuous`` works keep the whole days and have no ``validPeriod``."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

import pytest
from geoalchemy2.shape import from_shape
from google.transit import gtfs_realtime_pb2 as rt
from lxml import etree
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from service.feeds.common import FeedSite, shift_bounds, shift_text, site_end
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

TZ = "Europe/Berlin"
# the street of site_body, and a bus line along it (so that its works are in the GTFS-RT feed)
STREET = [[7.0001, 51.4402], [7.0012, 51.4371]]
SLOT = (date(2027, 4, 1), date(2027, 4, 3))  # summer time (CEST, UTC+2)


def _site(shift: str, start: date, end: date) -> FeedSite:
    moment = datetime(2027, 3, 1, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="t", description="", kind="sewer", impact="full_closure", modes=["car"], shift=shift,
        urgency="planned", status="approved", owner_id=uuid.uuid4(), owner_name="o", geometry=LineString(STREET),
        has_diversion=False, has_replacement=False, start=start, end=end, from_slot=True, version=1,
        first_published=moment, last_changed=moment)


@pytest.mark.parametrize(
    ("shift", "first", "last", "end"),
    [
        # summer time changes in the night of 27/28 March 2027: the first night begins at 20:00 CET, the last ends at
        # 07:00 CEST the morning after the last day
        ("night", datetime(2027, 3, 27, 19, tzinfo=UTC), datetime(2027, 3, 29, 5, tzinfo=UTC),
         datetime(2027, 3, 29, 5, tzinfo=UTC)),
        # day work: 07:00 CET on the first day to 20:00 CEST on the last; the works end at local midnight after it
        ("day", datetime(2027, 3, 27, 6, tzinfo=UTC), datetime(2027, 3, 28, 18, tzinfo=UTC),
         datetime(2027, 3, 28, 22, tzinfo=UTC)),
        ("continuous", None, None, datetime(2027, 3, 28, 22, tzinfo=UTC)),
    ],
)
def test_the_shifts_begin_and_end_at_their_local_hours_across_a_change_to_summer_time(
        shift: str, first: datetime | None, last: datetime | None, end: datetime) -> None:
    site = _site(shift, date(2027, 3, 27), date(2027, 3, 28))
    assert shift_bounds(site, TZ) == ((first, last) if first else None)
    assert site_end(site, TZ) == end


def test_a_single_night_runs_into_the_next_morning() -> None:
    site = _site("night", date(2027, 11, 5), date(2027, 11, 5))
    assert shift_bounds(site, TZ) == (datetime(2027, 11, 5, 19, tzinfo=UTC), datetime(2027, 11, 6, 6, tzinfo=UTC))
    assert shift_text("night") == ("Nachtarbeit, 20:00–07:00 Uhr", "Night work, 20:00–07:00")
    assert shift_text("day") == ("Arbeiten nur tagsüber, 07:00–20:00 Uhr", "Daytime work only, 07:00–20:00")
    assert shift_text("continuous") is None


def _records(doc: etree._Element, request_id: uuid.UUID) -> list[etree._Element]:
    return doc.xpath(f"//sit:situation[@id='{request_id}']/sit:situationRecord", namespaces=DATEX_NS)


def _langs(parent: etree._Element, path: str) -> list[tuple[str, str]]:
    return [(v.get("lang"), v.text) for v in parent.findall(f"{path}/com:values/com:value", DATEX_NS)]


def test_datex_gives_day_and_night_work_a_valid_period_of_their_hours(client, make_site, city) -> None:  # noqa: ANN001
    night = make_site(city, shift="night", slot=SLOT)
    day = make_site(city, shift="day", slot=SLOT)
    continuous = make_site(city, shift="continuous", slot=SLOT)
    response = client.get("/feeds/datex2/situations.xml")
    assert response.status_code == 200
    doc = assert_datex_valid(response.content)

    expected = {
        # (overallEndTime, startOfPeriod, endOfPeriod, startTimeOfPeriod, endTimeOfPeriod, name de, name en)
        night.id: ("2027-04-04T05:00:00Z", "2027-04-01T18:00:00Z", "2027-04-04T05:00:00Z", "20:00:00", "07:00:00",
                   "Nachtarbeit, 20:00–07:00 Uhr", "Night work, 20:00–07:00"),
        day.id: ("2027-04-03T22:00:00Z", "2027-04-01T05:00:00Z", "2027-04-03T18:00:00Z", "07:00:00", "20:00:00",
                 "Arbeiten nur tagsüber, 07:00–20:00 Uhr", "Daytime work only, 07:00–20:00"),
    }
    for request_id, (overall_end, first, last, begin, end, name_de, name_en) in expected.items():
        records = _records(doc, request_id)
        # works, closure and rerouting record alike
        assert [r.get("id") for r in records] == [f"{request_id}_{n}" for n in ("works", "closure", "rerouting")]
        for record in records:
            spec = record.find("sit:validity/com:validityTimeSpecification", DATEX_NS)
            assert spec.findtext("com:overallStartTime", namespaces=DATEX_NS) == "2027-03-31T22:00:00Z"
            assert spec.findtext("com:overallEndTime", namespaces=DATEX_NS) == overall_end
            [valid] = spec.findall("com:validPeriod", DATEX_NS)
            assert valid.findtext("com:startOfPeriod", namespaces=DATEX_NS) == first
            assert valid.findtext("com:endOfPeriod", namespaces=DATEX_NS) == last
            assert _langs(valid, "com:periodName") == [("de", name_de), ("en", name_en)]
            [time_of_day] = valid.findall("com:recurringTimePeriodOfDay", DATEX_NS)
            assert time_of_day.findtext("com:startTimeOfPeriod", namespaces=DATEX_NS) == begin
            assert time_of_day.findtext("com:endTimeOfPeriod", namespaces=DATEX_NS) == end
            comment = dict(_langs(record, "sit:generalPublicComment/sit:comment"))
            assert f"01.04.2027 – 03.04.2027. {name_de}." in comment["de"]
            assert f"2027-04-01 – 2027-04-03. {name_en}." in comment["en"]

    for record in _records(doc, continuous.id):  # round the clock: the whole days, no hours
        spec = record.find("sit:validity/com:validityTimeSpecification", DATEX_NS)
        assert spec.findtext("com:overallEndTime", namespaces=DATEX_NS) == "2027-04-03T22:00:00Z"
        assert spec.find("com:validPeriod", DATEX_NS) is None
        comment = dict(_langs(record, "sit:generalPublicComment/sit:comment"))
        assert "Uhr" not in comment["de"] and "07:00" not in comment["en"]


def test_night_work_ends_the_morning_after_its_last_day_in_wzdx_and_gtfs_rt(client, make_site, city, db) -> None:  # noqa: ANN001
    db.add(Corridor(name="Bus 160", kind="bus", buffer_m=30.0, routes=["160"], stops=[],
                    geom=from_shape(LineString(STREET), srid=4326)))
    db.flush()
    night = make_site(city, shift="night", slot=SLOT)
    day = make_site(city, shift="day", slot=SLOT)

    # WZDx: one work zone (and its detour) per shift, the last night's ending at 07:00 on 4 April (test_wzdx.py)
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert wzdx_errors(wzdx) == []
    ends = {f["id"]: f["properties"]["end_date"] for f in wzdx["features"]
            if f["properties"]["core_details"]["event_type"] == "work-zone"}
    assert ends == {f"{night.id}:2027-04-0{d}": f"2027-04-0{d + 1}T05:00:00Z" for d in (1, 2, 3)} | {
        f"{day.id}:2027-04-0{d}": f"2027-04-0{d}T18:00:00Z" for d in (1, 2, 3)}

    # GTFS-RT: one active_period per shift (test_shift_periods.py), the last night's ending at 07:00 on 4 April
    feed = rt.FeedMessage.FromString(client.get("/feeds/gtfs-rt/alerts.pb").content)
    periods = {e.id: [(p.start, p.end) for p in e.alert.active_period] for e in feed.entity}

    def utc(day: int, hour: int) -> int:
        return int(datetime(2027, 4, day, hour, tzinfo=UTC).timestamp())

    assert periods == {
        f"{night.id}:detour": [(utc(1, 18), utc(2, 5)), (utc(2, 18), utc(3, 5)), (utc(3, 18), utc(4, 5))],
        f"{day.id}:detour": [(utc(1, 5), utc(1, 18)), (utc(2, 5), utc(2, 18)), (utc(3, 5), utc(3, 18))],
    }


def test_night_work_stays_published_until_its_last_night_ends(client, make_site, city, db) -> None:  # noqa: ANN001
    from service.feeds import repository
    from service.feeds.models import FeedPublication
    from service.feeds.service import running_night

    night = make_site(city, shift="night", slot=SLOT)
    day = make_site(city, shift="day", slot=SLOT)
    client.get("/feeds/wzdx.geojson")  # both published while their slot runs
    morning_after = date(2027, 4, 4)
    assert running_night(morning_after, time(6, 59)) == date(2027, 4, 3)
    assert running_night(morning_after, time(7)) == morning_after

    def state(request_id: uuid.UUID) -> tuple[object, object]:
        pub = db.get(FeedPublication, request_id)
        db.refresh(pub)
        return pub.cancelled_at is None, pub.end_reason

    # 06:59 on the morning after the last day: the last night is still on the road, the day work is over
    repository.sync(db, morning_after, running_night(morning_after, time(6, 59)))
    assert state(night.id) == (True, None)
    assert state(day.id) == (False, "closed")
    # 07:00: the last night has ended too
    repository.sync(db, morning_after, running_night(morning_after, time(7)))
    assert state(night.id) == (False, "closed")
