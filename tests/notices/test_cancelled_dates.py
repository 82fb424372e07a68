"""A cancelled site is described with the dates its subscribers were last told: an approved site that is withdrawn
keeps its approved dates in the cancellation (email, webhook, Atom, calendar), not the owner's old wish marked
"Wunschtermin, noch nicht festgelegt"; a rejected site keeps its proposed dates, marked provisional. The
cancellation deleted the slot: the dates come from the site's history (the slot the withdrawal removed)."""

from __future__ import annotations

import json
from datetime import timedelta

from icalendar import Calendar

from tests.notices.helpers import subscribe
from tests.workflow.flow import approved, create, d, ok, today


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def _calendar(client, token: str) -> dict[str, object]:  # noqa: ANN001
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    return {str(ev["UID"]).split("@")[0]: ev for ev in cal.walk("VEVENT")}


def _mail(inbox, title: str) -> tuple[str, str]:  # noqa: ANN001
    [msg] = [m for m in inbox.messages if m["Subject"] == f"Baustelle abgesagt: {title}"]
    german, english = msg.get_content().split("English version below")
    return german, english


def test_a_withdrawn_approved_site_keeps_its_approved_dates(client, db, city, coordinator, smtp, receiver,  # noqa: ANN001
                                                            run_jobs) -> None:
    """Both ways of withdrawing: DELETE and POST .../withdraw. Approved for d(7)..d(16), wished for d(20)."""
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    sites = {how: approved(client, city, coordinator, start_offset=7, preferred_start=d(20),
                           title=f"Kanalbau {how} Rüttenscheider Straße")["id"] for how in ("delete", "post")}
    run_jobs()
    assert client.delete(f"/v1/requests/{sites['delete']}", headers=city.headers).status_code == 200
    ok(client, city, sites["post"], "withdraw", {"reason": "Projekt gestoppt"})
    receiver.requests.clear()
    run_jobs()

    hooks = {body["data"]["site"]["id"]: body["data"]["site"] for body in
             (json.loads(r["body"]) for r in receiver.requests) if body["type"] == "notice.request.withdrawn"}
    events = _calendar(client, sub.token)
    feed = client.get(f"/v1/subscriptions/{sub.token}/feed.atom").text
    for how, rid in sites.items():
        title = f"Kanalbau {how} Rüttenscheider Straße"
        german, english = _mail(inbox, title)
        assert f"Wann: {de(7)} bis {de(16)}\n" in german, german
        assert f"When: {d(7)} to {d(16)}\n" in english, english
        for text in (german, english):
            assert "Wunschtermin" not in text and "not fixed" not in text and de(20) not in text
        assert (hooks[rid]["dates"], hooks[rid]["start"], hooks[rid]["end"]) == ("slot", d(7), d(16))
        ev = events[rid]
        assert str(ev["STATUS"]) == "CANCELLED"
        assert ev.decoded("DTSTART").isoformat() == d(7)
        assert f"Baustelle abgesagt\n\nWo: {title}" in str(ev["DESCRIPTION"])
        assert f"Wann: {de(7)} bis {de(16)}\n" in str(ev["DESCRIPTION"])
        assert "Wunschtermin" not in str(ev["DESCRIPTION"])
    assert "Wunschtermin" not in feed and f"Wann: {de(7)} bis {de(16)}\n" in feed


def test_a_rejected_site_keeps_its_proposed_dates_as_provisional(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                                 run_jobs) -> None:
    inbox, _ = smtp
    subscribe(client, db)
    rid = create(client, city, preferred_start=d(20))["id"]
    ok(client, coordinator, rid, "propose", {"start": d(3)})
    run_jobs()
    ok(client, coordinator, rid, "reject", {"reason_code": "inside_moratorium", "reason": "Neu asphaltiert"})
    run_jobs()
    [msg] = [m for m in inbox.messages if m["Subject"].startswith("Baustelle findet nicht statt")]
    german, english = msg.get_content().split("English version below")
    assert f"Wann: {de(3)} bis {de(12)} (vorläufig)\n" in german
    assert f"When: {d(3)} to {d(12)} (provisional)\n" in english


def test_a_withdrawn_planned_site_says_the_dates_it_was_announced_with(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    """A submitted site gets a proposed slot (here at its wish): it was announced with those dates as provisional,
    and its cancellation says them the same way."""
    inbox, _ = smtp
    subscribe(client, db)
    rid = create(client, city, preferred_start=d(20))["id"]
    run_jobs()
    [planned] = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    told = f"Wann: {de(20)} bis {de(29)} (vorläufig)\n"
    assert told in planned.get_content()
    assert client.delete(f"/v1/requests/{rid}", headers=city.headers).status_code == 200
    run_jobs()
    [msg] = [m for m in inbox.messages if m["Subject"].startswith("Baustelle abgesagt")]
    assert told in msg.get_content() and "Wunschtermin" not in msg.get_content()
