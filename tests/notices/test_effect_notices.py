"""An approved change after approval that keeps the dates and the area but changes the works' effect on traffic
(impact, modes, working hours, diversions, replacement service) is headed by what it changed and says, in plain
words, what it is now and what it was: in the email (German first, English second), the webhook and the
calendar. A description-only edit is no notice."""

from __future__ import annotations

from icalendar import Calendar

from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe
from tests.workflow.flow import approved, create

TITLE = "Kanalerneuerung Rüttenscheider Straße"
DETOUR = {"type": "LineString", "coordinates": [[7.0040, 51.4410], [7.0052, 51.4365]]}
BUS = {"type": "LineString", "coordinates": [[7.0045, 51.4405], [7.0060, 51.4380]]}


def _change(client, owner, coordinator, rid: str, body: dict) -> None:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    done = client.post(f"/v1/requests/{rid}/changes/{r.json()['id']}/approve", json={}, headers=coordinator.headers)
    assert done.status_code == 200, done.text


def _description(client, token: str, rid: str) -> str:  # noqa: ANN001
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    return str(ev["DESCRIPTION"])


def _only(inbox, to: str) -> tuple[str, str, str]:  # noqa: ANN001
    [msg] = inbox.to(to)
    german, english = msg.get_content().split("English version below")
    return msg["Subject"], german, english


def test_a_changed_impact_is_headed_and_said_in_every_channel(client, db, city, coordinator, smtp, receiver,  # noqa: ANN001
                                                              run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    rid = approved(client, city, coordinator)["id"]  # a full closure (tests.conftest.site_body)
    run_jobs()
    inbox.clear()
    hooks = len(receiver.requests)

    _change(client, city, coordinator, rid, {"impact": "lane_reduction"})  # same dates, same area
    run_jobs()
    assert notices_of(db, sub.id)[-1].kind == "change.approved"
    subject, german, english = _only(inbox, sub.email)
    assert subject == f"Verkehrseinschränkung geändert: {TITLE}"  # no longer the generic "Baustelle geändert"
    assert german.lstrip().startswith(
        "Verkehrseinschränkung geändert\n\nVerkehrseinschränkung geändert: jetzt Fahrstreifen eingeengt statt "
        "Vollsperrung\n\nWo: ")
    assert english.lstrip().startswith(
        "Traffic restrictions changed\n\nTraffic restrictions changed: now lane reduction instead of full closure\n")
    assert "Einschränkung: Fahrstreifen eingeengt\n" in german
    assert "Bisher" not in german and "Previously" not in english  # the dates are the same
    assert "Arbeitszeiten geändert" not in german and "Umleitung geändert" not in german  # only the impact changed

    [hook] = [receiver.json(i) for i in range(hooks, len(receiver.requests))]
    assert hook["type"] == "notice.change.approved"
    assert hook["data"]["headline"] == {"de": "Verkehrseinschränkung geändert", "en": "Traffic restrictions changed"}
    site = hook["data"]["site"]
    assert (site["change"]["what"], site["change"]["effect"]) == ("effect", ["impact"])
    assert (site["impact"], site["previous"]["impact"]) == ("lane_reduction", "full_closure")

    # The calendar entry is headed by it too; it says what the site is now (nobody's "before" in a shared feed).
    text = _description(client, sub.token, rid)
    assert text.startswith("Verkehrseinschränkung geändert\n\nVerkehrseinschränkung geändert: jetzt Fahrstreifen "
                           "eingeengt\n")
    assert "\nTraffic restrictions changed\n\nTraffic restrictions changed: now lane reduction\n" in text
    assert "Baustelle geändert" not in text


def test_several_changed_effects_are_named_each_with_its_line(client, db, city, coordinator, smtp, run_jobs,  # noqa: ANN001
                                                              ) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator)["id"]  # cars and cycles, around the clock, a diversion
    run_jobs()
    inbox.clear()

    _change(client, city, coordinator, rid, {"modes": ["car"], "shift": "night", "diversions": [],
                                             "replacement_routes": [BUS]})
    run_jobs()
    subject, german, english = _only(inbox, sub.email)
    assert subject == f"Baustelle geändert – Verkehrsarten, Arbeitszeiten, Umleitung und Ersatzverkehr: {TITLE}"
    assert english.lstrip().startswith(
        "Site changed – traffic affected, working hours, diversion and replacement service\n")
    assert ("\nBetroffene Verkehrsarten geändert: jetzt Autoverkehr statt Autoverkehr, Radverkehr\n"
            "Arbeitszeiten geändert: jetzt nachts, 20:00–07:00 Uhr (Nachtarbeit) statt durchgehend, Tag und Nacht\n"
            "Umleitung geändert: entfällt\n"
            "Ersatzverkehr geändert: jetzt eingerichtet, siehe Karte\n\nWo: ") in german
    assert ("\nTraffic affected changed: now cars instead of cars, cycling\n"
            "Working hours changed: now at night, 20:00–07:00 (night work) instead of continuous, day and night\n"
            "Diversion changed: no longer in place\n"
            "Replacement service changed: now in place, see the map\n") in english
    assert "Verkehrseinschränkung geändert" not in german  # the impact stayed
    assert "Umleitung: nein\n" in german
    inbox.clear()

    _change(client, city, coordinator, rid, {"diversions": [DETOUR], "shift": "day"})
    run_jobs()
    subject, german, english = _only(inbox, sub.email)
    assert subject == f"Baustelle geändert – Arbeitszeiten und Umleitung: {TITLE}"
    assert ("Arbeitszeiten geändert: jetzt nur tagsüber, 07:00–20:00 Uhr statt nachts, 20:00–07:00 Uhr "
            "(Nachtarbeit)\n") in german
    assert "Umleitung geändert: jetzt ausgeschildert, siehe Karte\n" in german
    assert "Diversion changed: now signposted, see the map\n" in english
    assert "Ersatzverkehr geändert" not in german


def test_an_effect_changed_with_the_dates_is_said_under_the_dates_headline(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                                            run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator)["id"]
    run_jobs()
    inbox.clear()
    _change(client, city, coordinator, rid, {"duration_days": 15, "shift": "day"})
    run_jobs()
    subject, german, _ = _only(inbox, sub.email)
    assert subject == f"Baustelle verlängert: {TITLE}"
    assert "\nArbeitszeiten geändert: jetzt nur tagsüber, 07:00–20:00 Uhr statt durchgehend, Tag und Nacht\n" in german
    assert "\nBisher: " in german  # the old dates, as for every extension


def _patch(client, owner, rid: str, body: dict):  # noqa: ANN001, ANN202
    etag = client.get(f"/v1/requests/{rid}", headers=owner.headers).headers["etag"]
    return client.patch(f"/v1/requests/{rid}", json=body, headers={**owner.headers, "If-Match": etag})


def test_a_description_only_edit_is_no_notice(client, db, city, coordinator, smtp, run_jobs) -> None:  # noqa: ANN001
    """A submitted site's owner may rewrite its description: nothing for the street (the notices do not show it).
    An approved site's description cannot be edited at all (its owner asks for a change, which has no
    description), so there is no edit of a published site to notice."""
    inbox, _ = smtp
    sub = subscribe(client, db)
    submitted = create(client, city)["id"]
    draft = client.post("/v1/requests", json=site_body(status="draft"),
                        headers=city.headers).json()["id"]
    run_jobs()
    told = len(notices_of(db, sub.id))
    inbox.clear()
    for rid in (submitted, draft):
        r = _patch(client, city, rid, {"description": "Erneuerung des Mischwasserkanals, zweiter Abschnitt."})
        assert r.status_code == 200, r.text
    run_jobs()
    assert inbox.messages == [] and len(notices_of(db, sub.id)) == told

    rid = approved(client, city, coordinator)["id"]
    r = _patch(client, city, rid, {"description": "Neuer Text"})
    assert r.status_code == 409, r.text
