"""Day or night work reported set up (an emergency, set up at once) is in place from its set-up time to the end of the
shift running then or of the next one, in all three feeds alike (``common.setup_period``), then by its hours: an
emergency with night work reported on a Sunday at 06:40 is in the feeds at once, not only from 20:00. Its GTFS-RT
alert says what it is: emergency works (cause MAINTENANCE), not planned construction."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.feeds import datex2, gtfsrt, wzdx
from service.feeds.common import Corridor, FeedMeta, FeedSite, iso_z, shift_boundary, shift_periods
from tests.feeds.validators import DATEX_NS, assert_datex_valid, wzdx_errors

TZ = "Europe/Berlin"
STREET = [[7.0001, 51.4402], [7.0012, 51.4371]]
BUS_160 = Corridor(id="c160", name="Bus 160", kind="bus", routes=["160"], stops=[], geometry=LineString(STREET))
SUNDAY = date(2027, 3, 7)  # CET: UTC+1


def utc(m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(2027, m, d, h, minute, tzinfo=UTC)


def _site(shift: str, activated_at: datetime | None, *, urgency: str = "emergency", status: str = "active",
          days: int = 3) -> FeedSite:
    moment = utc(3, 7, 5, 40)
    return FeedSite(
        id=uuid.uuid4(), title="Wasserrohrbruch Alfredstraße", description="", kind="water", impact="full_closure",
        modes=["car"], shift=shift, urgency=urgency, status=status, owner_id=uuid.uuid4(), owner_name="Stadtwerke",
        geometry=LineString(STREET), has_diversion=False, has_replacement=False, start=SUNDAY,
        end=date(2027, 3, 6 + days), from_slot=True, version=1, first_published=moment, last_changed=moment,
        activated_at=activated_at, corridors=[BUS_160])


def _meta(now: datetime) -> FeedMeta:
    return FeedMeta(publisher="P", license="cc0-1.0", license_url="https://creativecommons.org/publicdomain/zero/1.0/",
                    public_url="http://x", timezone=TZ, updated=now, reference=shift_boundary(now, TZ))


def test_night_work_set_up_in_the_morning_is_in_place_now_in_every_feed() -> None:
    now = utc(3, 7, 5, 40)  # Sunday 06:40 local
    site = _site("night", now)
    meta = _meta(now)
    expected = [(now, utc(3, 8, 6)), (utc(3, 8, 19), utc(3, 9, 6)), (utc(3, 9, 19), utc(3, 10, 6))]
    assert shift_periods(site, TZ, meta.reference, 28) == expected

    feed = rt.FeedMessage.FromString(gtfsrt.to_bytes(gtfsrt.build([site], meta)))
    [entity] = feed.entity
    assert [(p.start, p.end) for p in entity.alert.active_period] == [
        (int(a.timestamp()), int(b.timestamp())) for a, b in expected]

    doc = wzdx.build([site], meta)
    assert wzdx_errors(doc) == []
    zones = [f["properties"] for f in doc["features"] if f["properties"]["core_details"]["event_type"] == "work-zone"]
    assert [(z["start_date"], z["end_date"]) for z in zones] == [(iso_z(a), iso_z(b)) for a, b in expected]
    assert zones[0]["is_start_date_verified"] is True

    xml = assert_datex_valid(datex2.build([site], [], meta))
    [period] = xml.xpath("//sit:situationRecord[contains(@id, '_works')]//com:validityTimeSpecification",
                         namespaces=DATEX_NS)
    assert period.findtext("com:overallStartTime", namespaces=DATEX_NS) == iso_z(now)
    valid = period.findall("com:validPeriod", DATEX_NS)
    assert [(v.findtext("com:startOfPeriod", namespaces=DATEX_NS), v.findtext("com:endOfPeriod", namespaces=DATEX_NS))
            for v in valid] == [(iso_z(now), iso_z(utc(3, 8, 6))), (iso_z(utc(3, 8, 19)), iso_z(utc(3, 10, 6)))]
    assert valid[0].find("com:recurringTimePeriodOfDay", DATEX_NS) is None  # in place throughout, not by the hour
    assert valid[1].find("com:recurringTimePeriodOfDay", DATEX_NS) is not None


def test_day_work_set_up_in_the_evening_stays_until_the_next_shift_ends() -> None:
    moment = utc(3, 7, 20)  # Sunday 21:00 local, after that day's shift
    site = _site("day", moment)
    assert shift_periods(site, TZ, shift_boundary(moment, TZ), 28) == [(moment, utc(3, 8, 19)),
                                                                       (utc(3, 9, 6), utc(3, 9, 19))]
    # not set up: the shifts as they are, no set-up period
    planned = _site("day", None, urgency="planned", status="approved")
    assert shift_periods(planned, TZ, utc(3, 6, 19), 2) == [(utc(3, 7, 6), utc(3, 7, 19)),
                                                            (utc(3, 8, 6), utc(3, 8, 19))]
    xml = assert_datex_valid(datex2.build([planned], [], _meta(utc(3, 6, 19))))
    assert len(xml.xpath("//sit:situationRecord[contains(@id, '_works')]//com:validPeriod", namespaces=DATEX_NS)) == 1


def test_an_emergency_alert_says_emergency_works() -> None:
    now = utc(3, 7, 9)
    feed = rt.FeedMessage.FromString(gtfsrt.to_bytes(gtfsrt.build([_site("continuous", now)], _meta(now))))
    [entity] = feed.entity
    alert = entity.alert
    assert alert.cause == rt.Alert.MAINTENANCE
    header = {t.language: t.text for t in alert.header_text.translation}
    assert header == {"de": "Umleitung wegen Notfallbaustelle: Wasserrohrbruch Alfredstraße",
                      "en": "Detour due to emergency works: Wasserrohrbruch Alfredstraße"}
    description = {t.language: t.text for t in alert.description_text.translation}
    assert description["de"].startswith("Notfallbaustelle Wasserrohrbruch Alfredstraße vom 07.03.2027")
    assert description["en"].startswith("Emergency works Wasserrohrbruch Alfredstraße from 2027-03-07")
    # planned works stay construction
    planned = rt.FeedMessage.FromString(gtfsrt.to_bytes(gtfsrt.build(
        [_site("continuous", None, urgency="planned", status="approved")], _meta(now))))
    assert planned.entity[0].alert.cause == rt.Alert.CONSTRUCTION
    assert planned.entity[0].alert.header_text.translation[0].text.startswith("Umleitung wegen Baustelle:")
