"""An approved change after approval reaches the businesses on the street (German first, English second),
and every calendar entry is headed by what its site is now: new, approved, extended, cancelled."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar

from tests.notices.helpers import notices_of, subscribe
from tests.workflow.flow import approved, create, today


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


def test_calendar_entries_are_headed_by_what_the_site_is_now(client, db, city, coordinator) -> None:  # noqa: ANN001
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
    client.delete(f"/v1/requests/{rid}", headers=city.headers)
    text = _description(client, sub.token, rid)
    assert text.startswith("Baustelle abgesagt") and "\nSite cancelled" in text
    assert "geändert" not in _description(client, sub.token, new)
