"""The subscription's calendar (RFC 5545, parsed back with icalendar): night work covers the morning its last night
ends, as in the open data feeds; a site is called off (STATUS CANCELLED) only in the calendars of the subscriptions
that were told of it, as its cancellation notice goes only to them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from icalendar import Calendar

from service.feeds.common import site_end
from service.notices import feeds
from tests.conftest import site_body
from tests.notices.helpers import subscribe

NOVEMBER = {"earliest_start": "2027-10-01", "latest_end": "2027-12-31", "preferred_start": "2027-11-01",
            "duration_days": 5}  # works on 01.11. to 05.11.2027


def _events(client, token: str) -> dict[str, object]:  # noqa: ANN001
    r = client.get(f"/v1/subscriptions/{token}/calendar.ics")
    assert r.status_code == 200, r.text
    return {str(ev["UID"]).removesuffix("@baustellen.ruhr"): ev for ev in Calendar.from_ical(r.content).walk("VEVENT")}


def test_night_work_lasts_until_the_morning_after_its_last_night_day_work_does_not(client, db, city) -> None:  # noqa: ANN001
    sub = subscribe(client, db)
    ids = {}
    for shift, kind in (("night", "sewer"), ("day", "gas"), ("continuous", "water")):
        r = client.post("/v1/requests", json=site_body(shift=shift, kind=kind, **NOVEMBER), headers=city.headers)
        assert r.status_code == 201, r.text
        ids[shift] = r.json()["id"]
    events = _events(client, sub.token)
    for shift, last_day in (("night", date(2027, 11, 6)), ("day", date(2027, 11, 5)),
                            ("continuous", date(2027, 11, 5))):
        ev = events[ids[shift]]
        assert ev.decoded("DTSTART") == date(2027, 11, 1), shift
        # all-day events: DTEND is exclusive (RFC 5545 3.6.1), the day after the last day
        assert ev.decoded("DTEND") == last_day + timedelta(days=1), shift
        assert type(ev.decoded("DTEND")) is date and type(ev.decoded("DTSTART")) is date, shift
    # the last night (05.11., 20:00) ends 06.11. at 07:00: the feeds' end (common.site_end) lies on the calendar's
    # last day
    night = SimpleNamespace(start=date(2027, 11, 1), end=date(2027, 11, 5), shift="night")
    end = site_end(night, "Europe/Berlin")  # type: ignore[arg-type]
    assert end.astimezone(ZoneInfo("Europe/Berlin")) == datetime(2027, 11, 6, 7, tzinfo=ZoneInfo("Europe/Berlin"))
    assert feeds.last_day({"end": "2027-11-05", "shift": "night"}) == date(2027, 11, 6)
    assert feeds.last_day({"end": "2027-11-05"}) == date(2027, 11, 5)  # a snapshot without working hours


def test_a_site_withdrawn_before_it_was_announced_is_not_in_the_calendar(client, db, city, coordinator, smtp,
                                                                         run_jobs) -> None:  # noqa: ANN001
    """Told by a notice or by the welcome: the calendar calls the site off. Created and withdrawn between two rounds
    of the worker (never announced, no cancellation notice either), or withdrawn as a draft: not in the calendar."""
    welcomed = client.post("/v1/requests", json=site_body(title="Gasleitung Rüttenscheider Straße", kind="gas"),
                           headers=city.headers).json()["id"]
    sub = subscribe(client, db)  # the welcome lists the gas main
    run_jobs()
    noticed = client.post("/v1/requests", json=site_body(title="Kanalbau Rüttenscheider Straße"),
                          headers=city.headers).json()["id"]
    run_jobs()  # "Neue Baustelle geplant"
    never = client.post("/v1/requests", json=site_body(title="Wasserleitung Rüttenscheider Straße", kind="water"),
                        headers=city.headers).json()["id"]
    draft = client.post("/v1/requests", json=site_body(title="Fernwärme Rüttenscheider Straße", status="draft",
                                                       kind="district_heating"), headers=city.headers).json()["id"]
    for rid in (welcomed, noticed, never, draft):
        assert client.delete(f"/v1/requests/{rid}", headers=city.headers).status_code == 200, rid
    run_jobs()
    events = _events(client, sub.token)
    assert set(events) == {welcomed, noticed}
    assert all(str(ev["STATUS"]) == "CANCELLED" for ev in events.values())


def test_the_calendar_builder_leaves_out_cancelled_sites_not_told() -> None:
    sub = SimpleNamespace(language="de")
    base = {"kind": "sewer", "title": "Kanalbau", "start": "2027-04-01", "end": "2027-04-30", "shift": "continuous",
            "updated_at": "2026-11-21T10:00:00+00:00", "sequence": 3, "lat": 51.44, "lon": 7.0,
            "map_url": "https://example.org/map/", "impact": "full_closure", "modes": ["car"], "owner": "Stadt Essen",
            "dates": "slot", "diversion": False, "replacement": False, "urgency": "planned"}
    sites = [{**base, "id": "a", "status": "withdrawn"}, {**base, "id": "b", "status": "rejected"},
             {**base, "id": "c", "status": "approved"}]
    uids = {str(ev["UID"]) for ev in Calendar.from_ical(feeds.calendar(sub, sites, {}, told={"b"})).walk("VEVENT")}
    assert uids == {"b@baustellen.ruhr", "c@baustellen.ruhr"}
