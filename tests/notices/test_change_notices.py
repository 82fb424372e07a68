"""An approved change after approval reaches the businesses on the street (German first, English second),
and every calendar entry is headed by what its site is now: new, approved, extended, cancelled."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar
from sqlalchemy import delete

from service.notices.models import Notice
from service.slots import repository as slot_repository
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe
from tests.workflow.flow import approved, body_now, create, ok, today


def de(offset: int) -> str:
    return f"{today() + timedelta(days=offset):%d.%m.%Y}"


def iso(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def _change(client, owner, coordinator, rid: str, body: dict) -> None:  # noqa: ANN001
    r = client.post(f"/v1/requests/{rid}/changes", json=body, headers=owner.headers)
    assert r.status_code == 201, r.text
    assert client.post(f"/v1/requests/{rid}/changes/{r.json()['id']}/approve", json={},
                       headers=coordinator.headers).status_code == 200


def _description(client, token: str, rid: str) -> str:  # noqa: ANN001
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    return str(ev["DESCRIPTION"])


def test_an_approved_extension_tells_the_subscribers(client, db, city, coordinator, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = approved(client, city, coordinator)["id"]
    run_jobs()
    inbox.clear()
    _change(client, city, coordinator, rid, {"duration_days": 15, "reason": "Mehr Leitungen"})
    run_jobs()
    assert notices_of(db, sub.id)[-1].kind == "change.approved"
    [msg] = inbox.messages
    assert msg["Subject"] == "Baustelle verlängert: Kanalerneuerung Rüttenscheider Straße"
    german, english = msg.get_content().split("English version below")
    assert german.lstrip().startswith("Baustelle verlängert")
    assert f"Wann: {de(0)} bis {de(14)}" in german and f"Bisher: {de(0)} bis {de(9)}" in german
    assert english.lstrip().startswith("Works extended")
    assert f"When: {iso(0)} to {iso(14)}" in english and f"Previously: {iso(0)} to {iso(9)}" in english


def test_an_approved_move_or_new_area_is_noticed_too(client, db, city, utility, coordinator, smtp,  # noqa: ANN001
                                                     run_jobs) -> None:
    inbox, _ = smtp
    subscribe(client, db)
    a = approved(client, city, coordinator)["id"]
    approved(client, utility, coordinator, start_offset=20, kind="water", title="Wasserleitung")
    run_jobs()
    inbox.clear()
    _change(client, city, coordinator, a, {"duration_days": 25})  # does not fit before the other site: moved
    run_jobs()
    [msg] = inbox.messages
    assert msg["Subject"] == "Baustellentermin verschoben: Kanalerneuerung Rüttenscheider Straße"
    inbox.clear()
    shorter = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0006, 51.4390]]}
    _change(client, city, coordinator, a, {"geometry": shorter})  # same dates, another area
    run_jobs()
    [msg] = inbox.messages
    assert msg["Subject"] == "Baustellenbereich geändert: Kanalerneuerung Rüttenscheider Straße"
    assert "Site area changed" in msg.get_content()
    inbox.clear()
    _change(client, city, coordinator, a, {"latest_end": iso(80)})  # only the window widens: same dates, same area
    run_jobs()
    assert inbox.messages == []


def test_calendar_entries_are_headed_by_what_the_site_is_now(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                             run_jobs) -> None:
    sub = subscribe(client, db)
    new = create(client, city)["id"]
    text = _description(client, sub.token, new)
    assert text.startswith("Neue Baustelle geplant") and "\nNew site planned" in text
    rid = approved(client, city, coordinator)["id"]
    assert _description(client, sub.token, rid).startswith("Baustelle genehmigt")
    _change(client, city, coordinator, rid, {"duration_days": 15})
    text = _description(client, sub.token, rid)
    assert text.startswith("Baustelle verlängert") and "\nWorks extended" in text
    assert "geändert: Termine oder Bereich" not in text
    run_jobs()  # the subscriber is told of the site: its calendar calls it off when it is withdrawn
    client.delete(f"/v1/requests/{rid}", headers=city.headers)
    text = _description(client, sub.token, rid)
    assert text.startswith("Baustelle abgesagt") and "\nSite cancelled" in text
    assert "geändert" not in _description(client, sub.token, new)


def _patch(client, owner, rid: str, body: dict) -> None:  # noqa: ANN001
    etag = client.get(f"/v1/requests/{rid}", headers=owner.headers).headers["etag"]
    r = client.patch(f"/v1/requests/{rid}", json=body, headers={**owner.headers, "If-Match": etag})
    assert r.status_code == 200, r.text


def _only(inbox) -> tuple[str, str, str]:  # noqa: ANN001
    [msg] = inbox.messages
    german, english = msg.get_content().split("English version below")
    inbox.clear()
    return msg["Subject"], german, english


def test_an_edit_is_headed_by_what_changed_and_says_what_it_was(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subscribe(client, db)
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]  # from 2027-04-01
    run_jobs()
    inbox.clear()

    _patch(client, city, rid, {"preferred_start": "2027-05-01"})  # the provisional slot follows
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Baustellentermin verschoben: Kanalerneuerung Rüttenscheider Straße"
    assert "Wann: 01.05.2027 bis 29.06.2027 (vorläufig)\nBisher: 01.04.2027 bis 30.05.2027 (vorläufig)\n" in german
    assert "When: 2027-05-01 to 2027-06-29 (provisional)\nPreviously: 2027-04-01 to 2027-05-30 (provisional)\n" in (
        english)

    _patch(client, city, rid, {"impact": "one_way"})  # only the impact: not "dates or area"
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Verkehrseinschränkung geändert: Kanalerneuerung Rüttenscheider Straße"
    assert subject.count(":") == 1
    assert "Einschränkung: Einbahnregelung\nBisher: Vollsperrung\n" in german
    assert "Impact: one-way traffic\nPreviously: full closure\n" in english
    assert "Bisher: 01." not in german  # the dates did not change

    _patch(client, city, rid, {"impact": "lane_reduction", "title": "Kanalerneuerung Rüttenscheider Str. Nord"})
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Baustelle geändert – Einschränkung und Angaben: Kanalerneuerung Rüttenscheider Str. Nord"
    assert german.lstrip().startswith("Baustelle geändert – Einschränkung und Angaben\n")
    assert english.lstrip().startswith("Site changed – restrictions and details\n")
    assert "Wo: Kanalerneuerung Rüttenscheider Str. Nord\nBisher: Kanalerneuerung Rüttenscheider Straße\n" in german
    assert "Einschränkung: Fahrstreifen eingeengt\nBisher: Einbahnregelung\n" in german

    shorter = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0006, 51.4390]]}
    _patch(client, city, rid, {"geometry": shorter})
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Baustellenbereich geändert: Kanalerneuerung Rüttenscheider Str. Nord"
    assert "Bereich: geändert, siehe Karte" in german and "Area: changed, see the map" in english


def test_a_displaced_site_says_its_old_dates(client, db, city, coordinator, make_caller, smtp,  # noqa: ANN001
                                             run_jobs) -> None:
    inbox, _ = smtp
    subscribe(client, db)
    water = make_caller("utility", "submitter", "Gelsenwasser AG")
    approved(client, city, coordinator)  # today .. +9
    run_jobs()
    inbox.clear()
    client.post("/v1/requests", json=body_now(urgency="emergency", title="Wasserrohrbruch", kind="water",
                                              duration_days=15, latest_end=iso(30)), headers=water.headers)
    run_jobs()
    [moved] = [m for m in inbox.messages if m["Subject"].startswith("Baustellentermin verschoben")]
    german, english = moved.get_content().split("English version below")
    # approved works keep their approval at the new dates: no longer "vorläufig"
    assert f"Wann: {de(15)} bis {de(24)}\nBisher: {de(0)} bis {de(9)}\n" in german
    assert f"When: {iso(15)} to {iso(24)}\nPreviously: {iso(0)} to {iso(9)}\n" in english


def test_a_revoked_approval_no_longer_gives_its_dates_as_current(client, db, city, coordinator, smtp,  # noqa: ANN001
                                                                 run_jobs) -> None:
    inbox, _ = smtp
    subscribe(client, db)
    rid = approved(client, city, coordinator)["id"]
    run_jobs()
    [approval] = [m for m in inbox.messages if m["Subject"].startswith("Baustelle genehmigt")]
    assert f"Wann: {de(0)} bis {de(9)}\n" in approval.get_content()  # approved: no "vorläufig"
    inbox.clear()
    ok(client, coordinator, rid, "revoke", {"reason": "Rohrbruch in der Nähe"})
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Genehmigung zurückgenommen, neuer Termin folgt: Kanalerneuerung Rüttenscheider Straße"
    assert f"Wann: noch offen, ein neuer Termin folgt\nBisher genehmigt: {de(0)} bis {de(9)}\n" in german
    assert f"When: open, new dates to follow\nPreviously approved: {iso(0)} to {iso(9)}\n" in english
    assert f"Wann: {de(0)}" not in german


def test_provisional_dates_and_wishes_are_marked(client, db, city, coordinator, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    sub = subscribe(client, db)
    rid = create(client, city)["id"]  # a provisional slot from today
    run_jobs()
    [new] = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    text = new.get_content()
    assert f"Wann: {de(0)} bis {de(9)} (vorläufig)\n" in text and f"When: {iso(0)} to {iso(9)} (provisional)\n" in text
    # Without a slot, the owner's preferred dates are a wish (the calendar shows the same text).
    slot_repository.put_slot(db, rid, start=None, end=None, status="unplaced", provisional=False, explanation={},
                             unplaced={"reason": "test", "blocking": []}, plan_id=None)
    _patch(client, city, rid, {"preferred_start": iso(5)})
    slot_repository.put_slot(db, rid, start=None, end=None, status="unplaced", provisional=False, explanation={},
                             unplaced={"reason": "test", "blocking": []}, plan_id=None)
    text = _description(client, sub.token, rid)
    assert f"Wann: {de(5)} bis {de(14)} (Wunschtermin, noch nicht festgelegt)" in text
    assert f"When: {iso(5)} to {iso(14)} (requested dates, not fixed yet)" in text


def test_an_edit_of_only_the_working_hours_is_noticed(client, db, city, receiver, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subscribe(client, db, webhooks=[receiver.url])
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]  # continuous
    run_jobs()
    [new] = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    assert "Arbeitszeiten: durchgehend, Tag und Nacht\n" in new.get_content()
    inbox.clear()
    hooks = len(receiver.requests)
    welcomed = subscribe(client, db, email="kiosk@example.de")  # told of the site by its welcome
    later = subscribe(client, db, email="kiosk2@example.de")  # told nothing of the site before:
    db.execute(delete(Notice).where(Notice.subscription_id == later.id, Notice.kind == "welcome"))  # confirmed
    db.flush()  # before there were welcome notices

    _patch(client, city, rid, {"shift": "night"})  # night work from now on: the neighbours want to know
    run_jobs()
    [told] = inbox.to("info@baeckerei-example.de")
    subject = told["Subject"]
    german, english = told.get_content().split("English version below")
    assert subject == "Arbeitszeiten geändert: Kanalerneuerung Rüttenscheider Straße"
    assert german.lstrip().startswith("Arbeitszeiten geändert\n")
    assert "Arbeitszeiten: nachts, 20:00–07:00 Uhr (Nachtarbeit)\nBisher: durchgehend, Tag und Nacht\n" in german
    assert english.lstrip().startswith("Working hours changed\n")
    assert "Working hours: at night, 20:00–07:00 (night work)\nPreviously: continuous, day and night\n" in english
    assert "Bisher: 01." not in german and "Bisher: Vollsperrung" not in german  # nothing else changed
    # The webhook says the same, with the working hours before and what changed.
    [hook] = [receiver.json(i) for i in range(hooks, len(receiver.requests))]
    assert hook["type"] == "notice.request.updated"
    assert hook["data"]["headline"] == {"de": "Arbeitszeiten geändert", "en": "Working hours changed"}
    site = hook["data"]["site"]
    assert (site["shift"], site["previous"]["shift"], site["changed"]) == ("night", "continuous", ["hours"])
    # A subscriber told of the site by the welcome hears what was before, as one told by a notice.
    [welcome, edit] = [m for m in inbox.to("kiosk@example.de") if not m["Subject"].startswith("Bitte bestätigen")]
    assert welcome["Subject"] == "Baustellen in Ihrem Gebiet: 1"
    assert "Arbeitszeiten: durchgehend, Tag und Nacht\n" in welcome.get_content()
    assert edit["Subject"] == "Arbeitszeiten geändert: Kanalerneuerung Rüttenscheider Straße"
    assert ("Arbeitszeiten: nachts, 20:00–07:00 Uhr (Nachtarbeit)\nBisher: durchgehend, Tag und Nacht\n"
            in edit.get_content())
    assert [n.kind for n in notices_of(db, welcomed.id)][-1] == "request.updated"
    # A subscriber told nothing before hears of it by the same headline, without "Bisher".
    [first] = [m for m in inbox.to("kiosk2@example.de") if not m["Subject"].startswith("Bitte bestätigen")]
    assert first["Subject"] == "Arbeitszeiten geändert: Kanalerneuerung Rüttenscheider Straße"
    assert "Arbeitszeiten: nachts, 20:00–07:00 Uhr (Nachtarbeit)\n" in first.get_content()
    assert "Bisher" not in first.get_content()
    assert [n.kind for n in notices_of(db, later.id)][-1] == "request.updated"
    inbox.clear()

    _patch(client, city, rid, {"shift": "day", "impact": "lane_reduction"})
    run_jobs()
    [both] = inbox.to("info@baeckerei-example.de")
    assert both["Subject"] == ("Baustelle geändert – Arbeitszeiten und Einschränkung: "
                               "Kanalerneuerung Rüttenscheider Straße")
    german = both.get_content().split("English version below")[0]
    assert "Arbeitszeiten: nur tagsüber, 07:00–20:00 Uhr\nBisher: nachts, 20:00–07:00 Uhr (Nachtarbeit)\n" in german
    assert "Einschränkung: Fahrstreifen eingeengt\nBisher: Vollsperrung\n" in german


def test_a_new_number_of_days_within_an_open_window_is_noticed(client, db, city, smtp, run_jobs) -> None:  # noqa: ANN001
    inbox, _ = smtp
    subscribe(client, db)

    def unplaced(rid: str) -> None:  # no slot yet (e.g. blocked): the notice gives the window and the days
        slot_repository.put_slot(db, rid, start=None, end=None, status="unplaced", provisional=False,
                                 explanation={}, unplaced={"reason": "test", "blocking": []}, plan_id=None)
        db.flush()

    rid = client.post("/v1/requests", json=site_body(preferred_start=None), headers=city.headers).json()["id"]
    unplaced(rid)
    run_jobs()
    [new] = [m for m in inbox.messages if m["Subject"].startswith("Neue Baustelle")]
    assert "Wann: im Zeitraum 01.03.2027 bis 30.09.2027, Dauer 60 Tage, Termin noch offen\n" in new.get_content()
    inbox.clear()
    _patch(client, city, rid, {"duration_days": 90})
    unplaced(rid)
    run_jobs()
    subject, german, english = _only(inbox)
    assert subject == "Baustellentermin geändert: Kanalerneuerung Rüttenscheider Straße"
    assert ("Wann: im Zeitraum 01.03.2027 bis 30.09.2027, Dauer 90 Tage, Termin noch offen\n"
            "Bisher: im Zeitraum 01.03.2027 bis 30.09.2027, Dauer 60 Tage, Termin noch offen\n") in german
    assert ("When: within 2027-03-01 to 2027-09-30, 90 days, exact dates not fixed yet\n"
            "Previously: within 2027-03-01 to 2027-09-30, 60 days, exact dates not fixed yet\n") in english
