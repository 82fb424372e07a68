"""A site an emergency displaced and left without a slot (no start free in its window) is told as open, as after a
revoked approval: "Wann: noch offen, ein neuer Termin folgt" with the dates it lost ("Bisher genehmigt: …"), in the
email, the webhook, Atom and the calendar; never its preferred dates as if it took place then. Its owner
organisation hears of it through the subscriptions it made with its key, whatever their area."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from lxml import etree

from tests.notices.helpers import FAR_AWAY, notices_of, subscribe
from tests.workflow.flow import approved, body_now, d, today

ATOM = {"a": "http://www.w3.org/2005/Atom"}


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def test_a_site_left_without_a_slot_is_open_in_every_channel_and_its_owner_is_told(  # noqa: PLR0915
        client, db, city, coordinator, make_caller, smtp, receiver, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    # the city's own subscription far away (made with its key), and another organisation's there
    own = subscribe(client, db, headers=city.headers, email="bau@stadt.example",
                    area={"point": FAR_AWAY, "radius_m": 300})
    other = make_caller("business", "submitter", "Bäckerei Dortmund")
    foreign = subscribe(client, db, headers=other.headers, email="info@baeckerei-dortmund.example",
                        area={"point": FAR_AWAY, "radius_m": 300})
    # approved on its preferred dates, days 1..10 of a window 0..11: no room left once an emergency holds 0..14
    rid = approved(client, city, coordinator, start_offset=1, latest_end=d(11), preferred_start=d(1))["id"]
    run_jobs()
    inbox.clear()
    hooks = len(receiver.requests)

    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    r = client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                                  duration_days=15, latest_end=d(30)), headers=water.headers)
    assert r.status_code == 201, r.text
    run_jobs()

    [moved] = [m for m in inbox.to(sub.email) if m["Subject"].startswith("Baustellentermin verschoben")]
    assert moved["Subject"] == "Baustellentermin verschoben, neuer Termin folgt: Kanalerneuerung Rüttenscheider Straße"
    german, english = moved.get_content().split("English version below")
    assert f"Wann: noch offen, ein neuer Termin folgt\nBisher genehmigt: {de(1)} bis {de(10)}\n" in german
    assert "When: open, new dates to follow\nPreviously approved: " in english
    assert "Wunschtermin" not in german and "requested dates" not in english

    [hook] = [receiver.json(i) for i in range(hooks, len(receiver.requests))
              if receiver.json(i)["type"] == "notice.slot.displaced"]
    site = hook["data"]["site"]
    assert hook["data"]["headline"]["de"] == "Baustellentermin verschoben, neuer Termin folgt"
    assert (site["start"], site["end"], site["dates"]) == (d(0), d(11), "window")  # not the preferred d(1)..d(10)
    assert (site["previous"]["start"], site["previous"]["end"], site["previous"]["dates"]) == (d(1), d(10), "slot")

    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    newest = feed.xpath("//a:entry[1]/a:content/text()", namespaces=ATOM)[0]
    assert newest.startswith("Baustellentermin verschoben, neuer Termin folgt")
    assert "Wann: noch offen, ein neuer Termin folgt" in newest and "Wunschtermin" not in newest

    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{sub.token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    text = str(ev["DESCRIPTION"])
    assert text.startswith("Baustellentermin verschoben, neuer Termin folgt")
    assert "Wann: noch offen, ein neuer Termin folgt\n" in text and "When: open, new dates to follow\n" in text
    assert "Wunschtermin" not in text and de(1) not in text
    assert ev["DTSTART"].dt.isoformat() == d(0)  # the window, not the preferred start

    # the owner organisation's own subscription (far away) is told, by the same notice; a stranger's is not
    [told] = [n for n in notices_of(db, own.id) if n.kind == "slot.displaced"]
    assert str(told.request_id) == rid and told.payload["own_site"] is True
    [mail] = inbox.to(own.email)
    assert mail["Subject"].startswith("Baustellentermin verschoben, neuer Termin folgt")
    assert f"Bisher genehmigt: {de(1)} bis {de(10)}" in mail.get_content()
    assert not [n for n in notices_of(db, foreign.id) if n.request_id is not None]
    # it is the owner's channel, not the area's: the site is not in that subscription's calendar
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{own.token}/calendar.ics").content)
    assert not [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
