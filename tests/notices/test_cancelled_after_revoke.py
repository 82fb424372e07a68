"""A site whose approval was revoked has no dates any more (``repository._VOID_SQL``): its subscribers were told
"approved for X-Y", then "approval revoked, no dates yet, new ones follow". When the owner then withdraws it
(POST .../withdraw or DELETE) or the coordination office rejects it, the cancellation does not bring the void dates
back as the site's dates: not in the email, the webhook's ``site``, the Atom entry or the calendar's CANCELLED
entry. It gives the dates the site has without a slot (here its window), as the webhook after the revocation did,
as what was planned: not "Termin noch offen" next to "findet nicht wie angekündigt statt" (no dates will follow).
New dates proposed after the revocation are the site's dates again, and its cancellation says them (provisional)."""

from __future__ import annotations

import json
from datetime import timedelta

from icalendar import Calendar

from tests.notices.helpers import subscribe
from tests.workflow.flow import approved, d, ok, today


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def _events(client, token: str) -> dict:  # noqa: ANN001
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    return {str(ev["UID"]).split("@")[0]: ev for ev in cal.walk("VEVENT")}


def _cancel(client, city, coordinator, rid: str, how: str) -> None:  # noqa: ANN001
    if how == "withdraw":
        ok(client, city, rid, "withdraw", {"reason": "Projekt gestoppt"})
    elif how == "delete":
        assert client.delete(f"/v1/requests/{rid}", headers=city.headers).status_code == 200
    else:
        ok(client, coordinator, rid, "reject", {"reason_code": "inside_moratorium", "reason": "Neu asphaltiert"})


def test_a_cancellation_after_a_revoked_approval_names_no_void_dates(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                                     receiver, run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    titles = {how: f"Kanalbau {how} Rüttenscheider Straße" for how in ("withdraw", "delete", "reject")}
    sites = {how: approved(client, city, coordinator, start_offset=10, title=title)["id"]  # days 10..19
             for how, title in titles.items()}
    run_jobs()
    for rid in sites.values():
        ok(client, coordinator, rid, "revoke", {"reason": "Rohrbruch in der Nähe"})
    run_jobs()
    inbox.clear()
    receiver.requests.clear()

    for how, rid in sites.items():
        _cancel(client, city, coordinator, rid, how)
    run_jobs()
    hooks = {body["data"]["site"]["id"]: body for body in (json.loads(r["body"]) for r in receiver.requests)}
    events = _events(client, sub.token)
    feed = client.get(f"/v1/subscriptions/{sub.token}/feed.atom").text
    window_de = f"Wann: im Zeitraum {de(0)} bis {de(89)} geplant, Dauer 10 Tage\n"
    off_de = "Die Baustelle findet nicht statt; ein Termin wird nicht mehr festgelegt."
    for how, rid in sites.items():
        [msg] = [m for m in inbox.to(sub.email) if titles[how] in m["Subject"]]
        german, english = msg.get_content().split("English version below")
        assert window_de in german and off_de in german, german
        assert f"When: planned within {d(0)} to {d(89)}, 10 days\n" in english, english
        assert "The works will not take place; no dates will be set." in english, english
        # a cancelled site's dates are not "still open", and no dates were announced that it could miss
        assert "noch offen" not in german and "wie angekündigt" not in german, german
        assert "not fixed yet" not in english and "as announced" not in english, english
        assert de(10) not in german and de(19) not in german, german  # the revoked dates, as if they held
        assert d(10) not in english and d(19) not in english, english

        site = hooks[rid]["data"]["site"]
        assert hooks[rid]["type"] == ("notice.request.rejected" if how == "reject" else "notice.request.withdrawn")
        assert site["dates"] not in ("slot", "proposed")
        assert (site["start"], site["end"], site["dates"]) == (d(0), d(89), "window")

        ev = events[rid]
        assert str(ev["STATUS"]) == "CANCELLED"
        assert ev.decoded("DTSTART").isoformat() == d(0) != d(10)
        assert ev.decoded("DTEND").isoformat() == d(90)
        text = str(ev["DESCRIPTION"])
        assert window_de in text and off_de in text and de(10) not in text and "vorläufig" not in text
        assert "noch offen" not in text and "not fixed yet" not in text
    # the feed's cancellations neither (the revocations before them say "Bisher genehmigt: 01.12. ...")
    cancellations = [e for e in feed.split("<entry>") if "Baustelle abgesagt" in e or "findet nicht statt" in e]
    assert len(cancellations) == 3
    for entry in cancellations:
        assert window_de in entry and off_de in entry and de(10) not in entry and "Termin noch offen" not in entry


def test_new_dates_after_the_revocation_are_the_cancelled_sites_dates(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                                      run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator, start_offset=10)["id"]
    ok(client, coordinator, rid, "revoke", {"reason": "Rohrbruch in der Nähe"})
    ok(client, coordinator, rid, "propose", {"start": d(30)})  # no longer void: provisional new dates
    run_jobs()
    inbox.clear()
    ok(client, city, rid, "withdraw", {"reason": "Projekt gestoppt"})
    run_jobs()
    [msg] = inbox.to(sub.email)
    assert f"Wann: {de(30)} bis {de(39)} (vorläufig)\n" in msg.get_content()
    assert "Die Baustelle findet nicht wie angekündigt statt." in msg.get_content()  # the dates it was told
    ev = _events(client, sub.token)[rid]
    assert ev.decoded("DTSTART").isoformat() == d(30)


def test_a_cancellation_after_a_revoked_approval_gives_the_wish_as_requested_dates(  # noqa: ANN001
        client, db, city, coordinator, smtp, run_jobs) -> None:
    """With a preferred start, the void site's dates are the owner's wish: its cancellation says so, without
    "noch nicht festgelegt" (no dates will be set)."""
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator, start_offset=10, preferred_start=d(5))["id"]
    ok(client, coordinator, rid, "revoke", {"reason": "Rohrbruch in der Nähe"})
    run_jobs()
    inbox.clear()
    ok(client, city, rid, "withdraw", {"reason": "Projekt gestoppt"})
    run_jobs()
    [msg] = inbox.to(sub.email)
    german, english = msg.get_content().split("English version below")
    assert f"Wann: {de(5)} bis {de(14)} (Wunschtermin)\n" in german, german
    assert "Die Baustelle findet nicht statt; ein Termin wird nicht mehr festgelegt." in german, german
    assert f"When: {d(5)} to {d(14)} (requested dates)\n" in english, english
    assert "The works will not take place; no dates will be set." in english, english
    assert "noch nicht festgelegt" not in german and "not fixed yet" not in english
