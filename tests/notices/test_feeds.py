"""Calendar (RFC 5545, parsed back with icalendar) and Atom feeds of a subscription."""

from __future__ import annotations

from datetime import date

from icalendar import Calendar
from lxml import etree

from tests.conftest import site_body
from tests.notices.helpers import subscribe

ATOM = "{http://www.w3.org/2005/Atom}"


def _events(client, token: str) -> dict[str, object]:  # noqa: ANN001
    r = client.get(f"/v1/subscriptions/{token}/calendar.ics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    return {str(ev["UID"]): ev for ev in cal.walk("VEVENT")}


def test_calendar_has_one_all_day_event_per_site_and_follows_changes(client, db, city) -> None:
    sub = subscribe(client, db)
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    client.post("/v1/requests", json=site_body(status="draft", title="Entwurf"), headers=city.headers)
    events = _events(client, sub.token)
    uid = f"{site['id']}@baustellen.ruhr"
    assert list(events) == [uid]  # the draft is not in it
    ev = events[uid]
    assert ev.decoded("DTSTART") == date(2027, 4, 1)
    assert ev.decoded("DTEND") == date(2027, 5, 31)  # exclusive end after 60 days
    assert str(ev["STATUS"]) == "TENTATIVE"
    assert str(ev["LOCATION"]) == "Kanalerneuerung Rüttenscheider Straße"
    geo = ev["GEO"]
    assert 51.43 < geo.latitude < 51.45 and 7.0 < geo.longitude < 7.01
    assert "Wer baut" in str(ev["DESCRIPTION"])
    first_sequence = int(ev["SEQUENCE"])

    etag = client.get(f"/v1/requests/{site['id']}", headers=city.headers).headers["etag"]
    client.patch(f"/v1/requests/{site['id']}", json={"preferred_start": "2027-05-01"},
                 headers={**city.headers, "If-Match": etag})
    ev = _events(client, sub.token)[uid]
    assert int(ev["SEQUENCE"]) > first_sequence
    assert ev.decoded("DTSTART") == date(2027, 5, 1)

    client.delete(f"/v1/requests/{site['id']}", headers=city.headers)
    ev = _events(client, sub.token)[uid]
    assert str(ev["STATUS"]) == "CANCELLED"
    assert int(ev["SEQUENCE"]) > first_sequence + 1


def test_feeds_need_a_confirmed_subscription(client, db) -> None:
    sub = subscribe(client, db, confirm=False)
    assert client.get(f"/v1/subscriptions/{sub.token}/calendar.ics").status_code == 409
    assert client.get("/v1/subscriptions/sub_unknown/feed.atom").status_code == 404
    # calendar clients and link checkers may ask with HEAD first: same answer, no body
    assert client.head(f"/v1/subscriptions/{sub.token}/calendar.ics").status_code == 409
    assert client.head("/v1/subscriptions/sub_unknown/feed.atom").status_code == 404
    confirmed = subscribe(client, db)
    for link in ("calendar.ics", "feed.atom"):
        got = client.get(f"/v1/subscriptions/{confirmed.token}/{link}")
        head = client.head(f"/v1/subscriptions/{confirmed.token}/{link}")
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]


def test_atom_feed_lists_the_notices(client, db, city, run_jobs) -> None:
    sub = subscribe(client, db)
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()
    client.delete(f"/v1/requests/{site['id']}", headers=city.headers)
    run_jobs()
    r = client.get(f"/v1/subscriptions/{sub.token}/feed.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    titles = [e.findtext(f"{ATOM}title") for e in feed.iter(f"{ATOM}entry")]
    assert len(titles) == 2
    assert set(titles) == {"Neue Baustelle geplant: Kanalerneuerung Rüttenscheider Straße",
                           "Baustelle abgesagt: Kanalerneuerung Rüttenscheider Straße"}
    links = {e.find(f"{ATOM}link").get("href") for e in feed.iter(f"{ATOM}entry")}
    assert links == {f"https://baustellen.example/map/#request={site['id']}"}
