"""GTFS-RT alerts of day and night work are active only during their shifts: one ``active_period`` per shift (day
07:00–20:00, night 20:00–07:00 the next morning, Europe/Berlin), the next ``gtfsrt.SHIFT_HORIZON`` still to come at
the feed's reference time (the last shift boundary), none already over; ``continuous`` works keep one period.

The feed is read over HTTP and decoded with the official bindings. The service's clock (``service.local_now``) is
set to a time of day on the pinned TODAY (2026-11-21, CET: UTC+1); the database is real."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from geoalchemy2.shape import from_shape
from google.protobuf import json_format
from google.transit import gtfs_realtime_pb2 as rt
from shapely.geometry import LineString

from service.conflicts.models import Corridor as CorridorRow
from service.feeds import gtfsrt
from service.feeds.common import Corridor, FeedMeta, FeedSite, end_instant, start_instant
from tests.conftest import TODAY

URL = "/feeds/gtfs-rt/alerts.pb"
TZ = "Europe/Berlin"
BERLIN = ZoneInfo(TZ)
# the street of site_body, and a bus line along it: works there get an alert for route 160
STREET = [[7.0001, 51.4402], [7.0012, 51.4371]]
Periods = list[tuple[datetime, datetime]]


def utc(y: int, m: int, d: int, h: int, minute: int = 0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=UTC)


@pytest.fixture
def bus(db) -> None:  # noqa: ANN001
    db.add(CorridorRow(name="Bus 160", kind="bus", buffer_m=30.0, routes=["160"], stops=[],
                       geom=from_shape(LineString(STREET), srid=4326)))
    db.flush()


@pytest.fixture
def clock(monkeypatch) -> Callable[[int, int], datetime]:  # noqa: ANN001
    """``clock(hour, minute)``: the service's now is that local time on TODAY."""
    from service.feeds import service

    current: dict[str, datetime] = {}
    monkeypatch.setattr(service, "local_now", lambda settings: current["now"])

    def set_clock(hour: int, minute: int = 0) -> datetime:
        current["now"] = datetime.combine(date.fromisoformat(TODAY), time(hour, minute), BERLIN)
        return current["now"]

    return set_clock


def _get(client, **headers: str):  # noqa: ANN001, ANN202
    response = client.get(URL, headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


def _feed(client) -> tuple[rt.FeedMessage, dict[str, Periods]]:  # noqa: ANN001
    """The feed (valid: it parses with the bindings, every required field set, the JSON form the same message) and
    each alert's periods as UTC instants."""
    feed = rt.FeedMessage.FromString(_get(client).content)
    assert feed.IsInitialized() and feed.header.incrementality == rt.FeedHeader.FULL_DATASET
    as_json = json_format.Parse(client.get(URL, params={"format": "json"}).content, rt.FeedMessage())
    assert abs(as_json.header.timestamp - feed.header.timestamp) <= 60  # each generated when it was first served
    as_json.header.timestamp = feed.header.timestamp
    assert as_json == feed
    return feed, {e.id: _periods(e.alert) for e in feed.entity}


def _periods(alert: rt.Alert) -> Periods:
    return [(datetime.fromtimestamp(p.start, UTC), datetime.fromtimestamp(p.end, UTC)) for p in alert.active_period]


def _texts(alert: rt.Alert) -> dict[str, str]:
    return {t.language: t.text for t in alert.description_text.translation}


def _daily(periods: Periods, length: timedelta) -> None:
    """One period a day, each ``length`` long (no change of summer time in between)."""
    assert all(end - start == length for start, end in periods)
    assert all(b[0] - a[0] == timedelta(days=1) for a, b in zip(periods, periods[1:], strict=False))


def test_day_and_night_work_get_one_period_per_shift_from_now_over_the_horizon(client, make_site, city, bus,
                                                                                 clock) -> None:  # noqa: ANN001
    long = (date(2026, 11, 2), date(2027, 6, 30))  # months: far more shifts than the horizon
    night = make_site(city, shift="night", slot=long)
    day = make_site(city, shift="day", slot=long)
    continuous = make_site(city, shift="continuous", slot=long)
    short = make_site(city, shift="night", slot=(date(2026, 11, 20), date(2026, 11, 25)))
    last_night = make_site(city, shift="night", slot=(date(2026, 11, 10), date(2026, 11, 20)))

    now = clock(6, 30)  # 05:30Z: the night begun yesterday at 20:00 runs until 07:00
    feed, periods = _feed(client)
    assert gtfsrt.SHIFT_HORIZON == 28
    # night work: the running night first (20:00 yesterday to 07:00 today, CET), then one a night for four weeks
    assert len(periods[f"{night.id}:detour"]) == 28
    assert periods[f"{night.id}:detour"][0] == (utc(2026, 11, 20, 19), utc(2026, 11, 21, 6))
    assert periods[f"{night.id}:detour"][-1] == (utc(2026, 12, 17, 19), utc(2026, 12, 18, 6))
    _daily(periods[f"{night.id}:detour"], timedelta(hours=11))
    # day work: yesterday's shift is over, today's 07:00–20:00 is the first
    assert len(periods[f"{day.id}:detour"]) == 28
    assert periods[f"{day.id}:detour"][0] == (utc(2026, 11, 21, 6), utc(2026, 11, 21, 19))
    assert periods[f"{day.id}:detour"][-1] == (utc(2026, 12, 18, 6), utc(2026, 12, 18, 19))
    _daily(periods[f"{day.id}:detour"], timedelta(hours=13))
    # fewer shifts left than the horizon: up to the morning after the last night, 26 November
    assert periods[f"{short.id}:detour"] == [(utc(2026, 11, d, 19), utc(2026, 11, d + 1, 6)) for d in range(20, 26)]
    # the last night of works that ended yesterday is still on the road this morning
    assert periods[f"{last_night.id}:detour"] == [(utc(2026, 11, 20, 19), utc(2026, 11, 21, 6))]
    # round the clock: one period, as before
    assert periods[f"{continuous.id}:detour"] == [(start_instant(long[0], TZ), end_instant(long[1], TZ))]
    assert periods[f"{continuous.id}:detour"] == [(utc(2026, 11, 1, 23), utc(2027, 6, 30, 22))]
    # no period is over
    assert all(end > now for alert in periods.values() for _, end in alert)
    # the texts still name the hours
    texts = {e.id: _texts(e.alert) for e in feed.entity}
    assert "Nachtarbeit, 20:00–07:00 Uhr." in texts[f"{night.id}:detour"]["de"]
    assert "Night work, 20:00–07:00." in texts[f"{night.id}:detour"]["en"]
    assert "Arbeiten nur tagsüber, 07:00–20:00 Uhr." in texts[f"{day.id}:detour"]["de"]
    assert "Daytime work only, 07:00–20:00." in texts[f"{day.id}:detour"]["en"]
    assert "Uhr" not in texts[f"{continuous.id}:detour"]["de"]

    clock(7)  # the night is over: the next begins this evening, and the horizon reaches one night further
    _, periods = _feed(client)
    assert len(periods[f"{night.id}:detour"]) == 28
    assert periods[f"{night.id}:detour"][0] == (utc(2026, 11, 21, 19), utc(2026, 11, 22, 6))
    assert periods[f"{night.id}:detour"][-1] == (utc(2026, 12, 18, 19), utc(2026, 12, 19, 6))
    assert periods[f"{day.id}:detour"][0] == (utc(2026, 11, 21, 6), utc(2026, 11, 21, 19))  # today's shift has begun
    assert periods[f"{short.id}:detour"] == [(utc(2026, 11, d, 19), utc(2026, 11, d + 1, 6)) for d in range(21, 26)]
    assert str(last_night.id) not in periods  # its last night is over (and so is its publication)


def test_a_night_across_a_change_of_summer_time_lasts_ten_or_twelve_hours(client, make_site, city, bus,
                                                                         clock) -> None:  # noqa: ANN001
    clock(12)
    # summer time begins on 28 March 2027 (02:00 CET → 03:00 CEST) and ends on 31 October 2027 (03:00 → 02:00)
    spring = make_site(city, shift="night", slot=(date(2027, 3, 27), date(2027, 3, 28)))
    autumn = make_site(city, shift="night", slot=(date(2027, 10, 30), date(2027, 10, 31)))
    day = make_site(city, shift="day", slot=(date(2027, 3, 27), date(2027, 3, 28)))
    later = make_site(city, shift="night", slot=(date(2027, 4, 1), date(2027, 12, 31)))
    _, periods = _feed(client)

    # 20:00 CET to 07:00 CEST: 10 hours; then 20:00 to 07:00 CEST: 11 hours
    assert periods[f"{spring.id}:detour"] == [(utc(2027, 3, 27, 19), utc(2027, 3, 28, 5)),
                                       (utc(2027, 3, 28, 18), utc(2027, 3, 29, 5))]
    assert [end - start for start, end in periods[f"{spring.id}:detour"]] == [timedelta(hours=10), timedelta(hours=11)]
    # 20:00 CEST to 07:00 CET: 12 hours; then 20:00 to 07:00 CET: 11 hours
    assert periods[f"{autumn.id}:detour"] == [(utc(2027, 10, 30, 18), utc(2027, 10, 31, 6)),
                                       (utc(2027, 10, 31, 19), utc(2027, 11, 1, 6))]
    assert [end - start for start, end in periods[f"{autumn.id}:detour"]] == [timedelta(hours=12), timedelta(hours=11)]
    # day work keeps its local hours on either side: 07:00–20:00 CET, then CEST
    assert periods[f"{day.id}:detour"] == [(utc(2027, 3, 27, 6), utc(2027, 3, 27, 19)),
                                    (utc(2027, 3, 28, 5), utc(2027, 3, 28, 18))]
    # works that begin beyond the horizon: their first shifts, announced ahead
    assert len(periods[f"{later.id}:detour"]) == 28
    assert periods[f"{later.id}:detour"][0] == (utc(2027, 4, 1, 18), utc(2027, 4, 2, 5))
    assert periods[f"{later.id}:detour"][-1] == (utc(2027, 4, 28, 18), utc(2027, 4, 29, 5))


def test_day_work_has_no_alert_once_its_last_shift_is_over(client, make_site, city, bus, clock) -> None:  # noqa: ANN001
    day = make_site(city, shift="day", slot=(date(2026, 11, 19), date(2026, 11, 21)))
    continuous = make_site(city, shift="continuous", slot=(date(2026, 11, 19), date(2026, 11, 21)))
    clock(19, 59)
    _, periods = _feed(client)
    assert periods[f"{day.id}:detour"] == [(utc(2026, 11, 21, 6), utc(2026, 11, 21, 19))]

    clock(20, 30)  # still published until midnight, but no shift is left to show (in WZDx neither)
    _, periods = _feed(client)
    assert str(day.id) not in periods
    assert periods[f"{continuous.id}:detour"] == [(utc(2026, 11, 18, 23), utc(2026, 11, 21, 23))]
    wzdx = client.get("/feeds/wzdx.geojson").json()
    assert not [f["id"] for f in wzdx["features"] if f["id"].startswith(str(day.id))]
    assert str(continuous.id) in {f["id"] for f in wzdx["features"]}


def test_the_feed_moves_on_when_a_shift_ends_and_not_in_between(client, make_site, city, bus, clock,  # noqa: ANN001
                                                                 later) -> None:
    day = make_site(city, shift="day", slot=(date(2026, 11, 2), date(2027, 6, 30)))
    clock(7, 30)
    first = _get(client)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    header = rt.FeedMessage.FromString(first.content).header
    assert header.timestamp >= int(parsedate_to_datetime(last_modified).timestamp())  # generated, not modified

    clock(19, 59)  # the same shift runs: the same content (the body cached with its time), 304
    assert _get(client).content == first.content
    assert _get(client, **{"If-None-Match": etag}).status_code == 304
    assert _get(client, **{"If-Modified-Since": last_modified}).status_code == 304

    clock(20)  # today's shift is over: other periods, so another ETag and a later Last-Modified and timestamp
    later()
    after = _get(client, **{"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert parsedate_to_datetime(after.headers["last-modified"]) > parsedate_to_datetime(last_modified)
    assert _get(client, **{"If-Modified-Since": last_modified}).status_code == 200
    feed = rt.FeedMessage.FromString(after.content)
    assert feed.header.timestamp >= int(parsedate_to_datetime(after.headers["last-modified"]).timestamp())
    assert feed.header.timestamp > header.timestamp
    [entity] = feed.entity
    assert entity.id == f"{day.id}:detour"
    assert entity.alert.active_period[0].start == int(utc(2026, 11, 22, 6).timestamp())
    assert len(entity.alert.active_period) == 28


# --- the builder itself: works set up during a shift ----------------------------------------------------------

BUS_160 = Corridor(id="c160", name="Bus 160", kind="bus", routes=["160"], stops=[], geometry=LineString(STREET))


def _site(shift: str, start: date, end: date, activated_at: datetime | None) -> FeedSite:
    moment = datetime(2027, 3, 1, tzinfo=UTC)
    return FeedSite(
        id=uuid.uuid4(), title="Wasserrohrbruch Alfredstraße", description="", kind="water", impact="full_closure",
        modes=["car"], shift=shift, urgency="emergency", status="active", owner_id=uuid.uuid4(), owner_name="o",
        geometry=LineString(STREET), has_diversion=False, has_replacement=False, start=start, end=end,
        from_slot=True, version=1, first_published=moment, last_changed=moment, activated_at=activated_at,
        corridors=[BUS_160])


def _built(site: FeedSite, reference: datetime) -> Periods:
    meta = FeedMeta(publisher="P", license="cc0-1.0", license_url="https://creativecommons.org/publicdomain/zero/1.0/",
                    public_url="http://x", timezone=TZ, updated=datetime(2027, 3, 1, tzinfo=UTC), reference=reference)
    feed = rt.FeedMessage.FromString(gtfsrt.to_bytes(gtfsrt.build([site], meta)))
    return [period for e in feed.entity for period in _periods(e.alert)]


def test_works_set_up_during_a_shift_begin_then_and_between_shifts_stay_until_the_next_ends() -> None:
    # night work set up at 21:30 on its first night (20:30Z): that night's period begins then
    night = _site("night", date(2027, 3, 1), date(2027, 3, 3), utc(2027, 3, 1, 20, 30))
    assert _built(night, utc(2027, 3, 1, 19)) == [(utc(2027, 3, 1, 20, 30), utc(2027, 3, 2, 6)),
                                                  (utc(2027, 3, 2, 19), utc(2027, 3, 3, 6)),
                                                  (utc(2027, 3, 3, 19), utc(2027, 3, 4, 6))]
    # day work reported set up at 21:00 on its first day, after that day's shift: in place from then to the end of
    # the next day's shift (``common.setup_period``), not absent from the feed until 07:00
    day = _site("day", date(2027, 3, 1), date(2027, 3, 2), utc(2027, 3, 1, 20))
    assert _built(day, utc(2027, 3, 1, 19)) == [(utc(2027, 3, 1, 20), utc(2027, 3, 2, 19))]
