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


def test_calendar_has_one_all_day_event_per_site_and_follows_changes(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    sub = subscribe(client, db)
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    run_jobs()  # the subscriber is told of the site: its calendar calls it off when it is withdrawn
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


def test_calendar_has_an_etag_and_answers_304_until_a_matching_site_changes(client, db, city) -> None:  # noqa: ANN001
    sub = subscribe(client, db)
    url = f"/v1/subscriptions/{sub.token}/calendar.ics"
    site = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "private, max-age=60"
    # the same calendar, the same bytes and tag, whatever the time and the encoding (the tag is weak)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert plain.headers["etag"] == etag and plain.content == first.content
    [ev] = Calendar.from_ical(first.content).walk("VEVENT")
    assert ev.decoded("DTSTAMP") == ev.decoded("LAST-MODIFIED")  # the site's last change, not the time of asking
    assert first.headers["vary"] == "Accept-Encoding"  # gzip may have answered: the 304 says so too

    for tag in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        for method in (client.get, client.head):
            again = method(url, headers={"If-None-Match": tag})
            assert again.status_code == 304, (tag, method)
            assert again.content == b""
            assert again.headers["etag"] == etag and again.headers["cache-control"] == "private, max-age=60"
            assert again.headers["vary"] == "Accept-Encoding"
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200

    # a site elsewhere changes nothing in this calendar: still 304
    client.post("/v1/requests", json=site_body(title="Kanal Dortmund", geometry={
        "type": "LineString", "coordinates": [[7.4650, 51.5140], [7.4660, 51.5110]]}, diversions=[]),
        headers=city.headers)
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    # a change of a site in it changes the calendar and its tag
    tag = client.get(f"/v1/requests/{site['id']}", headers=city.headers).headers["etag"]
    assert client.patch(f"/v1/requests/{site['id']}", json={"preferred_start": "2027-05-01"},
                        headers={**city.headers, "If-Match": tag}).status_code == 200
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert list(Calendar.from_ical(changed.content).walk("VEVENT"))[0].decoded("DTSTART") == date(2027, 5, 1)
    assert client.get(url, headers={"If-None-Match": changed.headers["etag"]}).status_code == 304
