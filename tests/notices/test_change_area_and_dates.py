"""An approved change that moves a site to another place says so also when its dates change ("Bereich geändert"),
in the email, the webhook, the Atom feed and the calendar; and a start moved earlier is no "extension": dates that
move both ways are "verschoben" with the dates before."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from lxml import etree

from service.slots import explanations
from tests.notices.helpers import NEAR_SITE, subscribe
from tests.workflow.flow import approved, d, today

TITLE = "Kanalerneuerung Rüttenscheider Straße"
# About 1.3 km east of the site's street, where the other organisation's works are approved from day 32 on.
ELSEWHERE = {"type": "LineString", "coordinates": [[7.0180, 51.4402], [7.0191, 51.4371]]}


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def _change(client, owner, coordinator, rid: str, body: dict) -> dict:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    done = client.post(f"/v1/requests/{rid}/changes/{r.json()['id']}/approve", json={}, headers=coordinator.headers)
    assert done.status_code == 200, done.text
    return done.json()


def test_a_change_to_another_place_with_new_dates_names_the_area(client, db, city, utility, coordinator, smtp,  # noqa: ANN001
                                                                  receiver, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, area={"point": NEAR_SITE, "radius_m": 2500}, webhooks=[receiver.url])
    rid = approved(client, city, coordinator, start_offset=20)["id"]  # days 20..29
    approved(client, utility, coordinator, start_offset=32, kind="water", title="Wasserleitung Ostviertel",
             geometry=ELSEWHERE, duration_days=20)  # days 32..51 at the new place
    run_jobs()
    inbox.clear()
    hooks = len(receiver.requests)

    # 14 days at the new place: in place (20..33) it would meet the other works, so it starts two days earlier
    _change(client, city, coordinator, rid, {"geometry": ELSEWHERE, "duration_days": 14})
    got = client.get(f"/v1/requests/{rid}", headers=city.headers).json()
    assert (got["slot"]["start"], got["slot"]["end"]) == (d(18), d(31))
    run_jobs()

    [msg] = inbox.to(sub.email)
    assert msg["Subject"] == f"Baustellentermin verschoben, Bereich geändert: {TITLE}"
    german, english = msg.get_content().split("English version below")
    assert german.lstrip().startswith("Baustellentermin verschoben, Bereich geändert\n")
    assert "Bereich: geändert, siehe Karte\n" in german and "Area: changed, see the map\n" in english
    assert f"Wann: {de(18)} bis {de(31)}\nBisher: {de(20)} bis {de(29)}\n" in german
    assert "verlängert" not in german and "extended" not in english

    [hook] = [receiver.json(i) for i in range(hooks, len(receiver.requests))]
    assert hook["data"]["headline"] == {"de": "Baustellentermin verschoben, Bereich geändert",
                                        "en": "Site dates moved, area changed"}
    site = hook["data"]["site"]
    assert (site["change"]["what"], site["change"]["area"]) == ("moved", True)
    assert set(site["changed"]) == {"dates", "area"}
    assert (site["previous"]["start"], site["previous"]["end"]) == (d(20), d(29))

    atom = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    [entry] = atom.xpath("//a:entry[1]/a:content/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
    assert entry.startswith("Baustellentermin verschoben, Bereich geändert") and "Bereich: geändert" in entry

    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{sub.token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    assert str(ev["DESCRIPTION"]).startswith("Baustellentermin verschoben, Bereich geändert")


def test_a_change_of_dates_alone_does_not_name_the_area(client, db, city, coordinator, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator)["id"]
    run_jobs()
    inbox.clear()
    _change(client, city, coordinator, rid, {"duration_days": 15})
    run_jobs()
    [msg] = inbox.to(sub.email)
    assert msg["Subject"] == f"Baustelle verlängert: {TITLE}"
    assert "Bereich: geändert" not in msg.get_content()


def test_a_start_moved_earlier_is_no_extension() -> None:
    day = today()
    was = (day + timedelta(days=20), day + timedelta(days=29))
    assert explanations.change_kind(was, (day + timedelta(days=18), day + timedelta(days=31)),
                                    area_changed=False) == "moved"
    assert explanations.change_kind(was, (day + timedelta(days=20), day + timedelta(days=33)),
                                    area_changed=True) == "extended"
    assert explanations.change_kind(was, (day + timedelta(days=20), day + timedelta(days=25)),
                                    area_changed=False) == "shortened"
    summary = explanations.change_summary(was, (day + timedelta(days=18), day + timedelta(days=31)),
                                          area_changed=True, reason=None)
    assert summary["de"].startswith("Verschoben und Bereich geändert")
