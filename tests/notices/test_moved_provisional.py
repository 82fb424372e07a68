"""A provisional slot that the incremental placement of another organisation's request moves (the CP-SAT repair,
``slots.service.place_incrementally``) is told to the subscribers once, like a displacement: "Baustellentermin
verschoben" with the dates it had ("Bisher: ..."), by email, webhook and Atom; the calendar entry's SEQUENCE rises
with it, and the next edit compares with the moved dates, not the old ones."""

from __future__ import annotations

from icalendar import Calendar
from lxml import etree

from service.slots import repository as slot_repository
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe

TITLE = "Kanalerneuerung Rüttenscheider Straße"
FIRST = {"earliest_start": "2027-07-01", "latest_end": "2027-09-30", "duration_days": 10,
         "preferred_start": "2027-07-01"}
# Another organisation's works on the same street that can only take 1 to 10 July: the first site moves.
SECOND = {"title": "Wasserleitung Rüttenscheider Straße", "kind": "water", "earliest_start": "2027-07-01",
          "latest_end": "2027-07-10", "duration_days": 10, "preferred_start": "2027-07-01"}


def _event(client, token: str, rid: str):  # noqa: ANN001, ANN202
    cal = Calendar.from_ical(client.get(f"/v1/subscriptions/{token}/calendar.ics").content)
    [ev] = [ev for ev in cal.walk("VEVENT") if str(ev["UID"]).startswith(rid)]
    return ev


def _patch(client, owner, rid: str, body: dict) -> None:  # noqa: ANN001
    etag = client.get(f"/v1/requests/{rid}", headers=owner.headers).headers["etag"]
    r = client.patch(f"/v1/requests/{rid}", json=body, headers={**owner.headers, "If-Match": etag})
    assert r.status_code == 200, r.text


def test_a_provisional_slot_moved_for_another_request_is_told(client, db, city, utility, smtp, receiver,  # noqa: ANN001
                                                              run_jobs) -> None:
    inbox, _ = smtp
    sub = subscribe(client, db, webhooks=[receiver.url])
    first = client.post("/v1/requests", json=site_body(**FIRST), headers=city.headers).json()["id"]
    run_jobs()
    [new] = inbox.to(sub.email)[-1:]
    assert new["Subject"] == f"Neue Baustelle geplant: {TITLE}"
    assert "Wann: 01.07.2027 bis 10.07.2027 (vorläufig)\n" in new.get_content()
    before = _event(client, sub.token, first)
    inbox.clear()
    hooks = len(receiver.requests)

    second = client.post("/v1/requests", json=site_body(**SECOND), headers=utility.headers).json()["id"]
    slot = slot_repository.get_slot(db, first)
    assert (str(slot.start), str(slot.end)) == ("2027-07-11", "2027-07-20")  # the repair moved it
    run_jobs()

    moved = [m for m in inbox.to(sub.email) if m["Subject"] == f"Baustellentermin verschoben: {TITLE}"]
    assert len(moved) == 1
    german, english = moved[0].get_content().split("English version below")
    assert "Wann: 11.07.2027 bis 20.07.2027 (vorläufig)\nBisher: 01.07.2027 bis 10.07.2027 (vorläufig)\n" in german
    assert "When: 2027-07-11 to 2027-07-20 (provisional)\nPreviously: 2027-07-01 to 2027-07-10 (provisional)\n" in (
        english)
    told = [n for n in notices_of(db, sub.id) if n.request_id is not None and str(n.request_id) == first]
    assert [n.kind for n in told] == ["request.created", "slot.displaced"]
    # the webhook says the same
    hook = next(receiver.json(i) for i in range(hooks, len(receiver.requests))
                if receiver.json(i)["data"]["site"]["id"] == first)
    assert hook["type"] == "notice.slot.displaced"
    assert hook["data"]["headline"]["de"] == "Baustellentermin verschoben"
    site = hook["data"]["site"]
    assert (site["start"], site["end"], site["dates"]) == ("2027-07-11", "2027-07-20", "proposed")
    assert (site["previous"]["start"], site["previous"]["end"], site["changed"]) == (
        "2027-07-01", "2027-07-10", ["dates"])
    # the Atom feed has the entry
    atom = etree.fromstring(client.get(f"/v1/subscriptions/{sub.token}/feed.atom").content)
    titles = atom.xpath("//a:entry/a:title/text()", namespaces={"a": "http://www.w3.org/2005/Atom"})
    assert f"Baustellentermin verschoben: {TITLE}" in titles
    # the calendar: new dates with a higher SEQUENCE, headed by the move
    after = _event(client, sub.token, first)
    assert str(after["DTSTART"].to_ical().decode()) == "20270711"
    assert int(after["SEQUENCE"]) > int(before["SEQUENCE"])
    assert str(after["DESCRIPTION"]).startswith("Baustellentermin verschoben")
    assert second  # the other site is told as new, as always

    # told once: processing again adds nothing
    count = len(notices_of(db, sub.id))
    run_jobs()
    assert len(notices_of(db, sub.id)) == count
    inbox.clear()
    # the next edit compares with the moved dates
    _patch(client, city, first, {"impact": "one_way"})
    run_jobs()
    [edit] = inbox.to(sub.email)
    text = edit.get_content()
    assert edit["Subject"] == f"Verkehrseinschränkung geändert: {TITLE}"
    assert "Bisher: 01.07.2027" not in text
    assert "Wann: 11.07.2027 bis 20.07.2027 (vorläufig)\n" in text
