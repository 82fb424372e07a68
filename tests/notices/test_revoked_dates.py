"""After a revoked approval no channel gives the void dates as the site's dates: the email says "noch offen, ein
neuer Termin folgt" with the dates that were approved ("Bisher genehmigt"), and so do the webhook's ``site`` (the
dates it has without a slot, no stale ``change`` of an earlier approved change), the Atom entry and the calendar
entry. New dates proposed later are the site's dates again."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from lxml import etree

from tests.notices.helpers import subscribe
from tests.workflow.flow import approved, d, ok, today

TITLE = "Kanalerneuerung Rüttenscheider Straße"


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def _event(client, token: str, rid: str):  # noqa: ANN001, ANN202
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    return ev


def test_no_channel_gives_the_void_dates_as_current(client, db, city, coordinator, smtp, receiver,  # noqa: ANN001
                                                     run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    rid = approved(client, city, coordinator, start_offset=10)["id"]  # days 10..19
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 12}, headers=city.headers)
    assert r.status_code == 201, r.text
    ok(client, coordinator, rid, f"changes/{r.json()['id']}/approve", {})  # extended: days 10..21
    run_jobs()
    inbox.clear()
    hooks = len(receiver.requests)

    ok(client, coordinator, rid, "revoke", {"reason": "Rohrbruch in der Nähe"})
    run_jobs()
    [msg] = inbox.to(sub.email)
    german = msg.get_content().split("English version below")[0]
    assert f"Wann: noch offen, ein neuer Termin folgt\nBisher genehmigt: {de(10)} bis {de(21)}\n" in german

    [hook] = [receiver.json(i) for i in range(hooks, len(receiver.requests))]
    assert hook["type"] == "notice.approval.revoked"
    site = hook["data"]["site"]
    assert site["dates"] not in ("slot", "proposed")  # no slot dates: the window it has, "dates not fixed yet"
    assert (site["start"], site["end"], site["dates"]) == (d(0), d(89), "window")
    assert site["change"] is None  # not the earlier change's "extended"
    assert (site["previous"]["start"], site["previous"]["end"]) == (d(10), d(21))

    feed = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    newest = feed.xpath("//a:entry[1]/a:content/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})[0]
    assert newest.startswith("Genehmigung zurückgenommen")
    assert f"Wann: {de(10)}" not in newest and "Wann: noch offen, ein neuer Termin folgt" in newest

    ev = _event(client, sub.token, rid)
    text = str(ev["DESCRIPTION"])
    assert text.startswith("Genehmigung zurückgenommen, neuer Termin folgt")
    assert "Wann: noch offen, ein neuer Termin folgt\n" in text and "When: open, new dates to follow\n" in text
    assert de(10) not in text and "vorläufig" not in text
    assert ev["DTSTART"].to_ical().decode() != (today() + timedelta(days=10)).strftime("%Y%m%d")

    # new dates proposed: they are the site's dates again (provisional)
    ok(client, coordinator, rid, "propose", {"start": d(30)})
    text = str(_event(client, sub.token, rid)["DESCRIPTION"])
    assert f"Wann: {de(30)} bis {de(41)} (vorläufig)\n" in text
