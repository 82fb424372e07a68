"""A site left without dates that gets its first ones (its blocker withdrew, ``slots.service.place_unblocked``) is
told "Baustellentermin vorläufig festgelegt", not "verschoben", in the notice and its calendar entry; a provisional
slot that really moved still says "verschoben". Real PostGIS, through the API."""

from __future__ import annotations

import uuid

from icalendar import Calendar

from service.notices import render
from service.notices import service as notices
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}


def _lane(earliest: str, latest: str, days: int, preferred: str | None = None) -> dict:
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred)


def _post(client, caller, body: dict) -> dict:  # noqa: ANN001
    r = client.post("/v1/requests", json=body, headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def test_first_dates_are_set_not_moved(client, make_caller, db, settings) -> None:  # noqa: ANN001
    b, first, second = (make_caller("utility") for _ in range(3))
    bid = _post(client, b, _lane("2027-07-01", "2027-07-10", 10))["id"]
    fid = _post(client, first, _lane("2027-07-01", "2027-07-30", 10, "2027-07-05"))["id"]
    _post(client, make_caller("utility"), _lane("2027-07-21", "2027-07-30", 10))
    sr = _post(client, second, _lane("2027-07-01", "2027-07-20", 10, "2027-07-11"))
    assert sr["slot"] is None, sr
    sub = subscribe(client, db, area={"point": [7.1002, 51.4200], "radius_m": 300})
    notices.process_events(db, settings)
    db.flush()
    assert client.post(f"/v1/requests/{bid}/withdraw", json={"reason": "verschoben"},
                       headers=b.headers).status_code == 200
    notices.process_events(db, settings)
    db.flush()
    told = notices_of(db, sub.id)
    [placed] = [n for n in told if n.request_id == uuid.UUID(sr["id"]) and n.kind == "slot.displaced"]
    site = placed.payload["site"]
    assert render.headline(placed.kind, site, "de") == "Baustellentermin vorläufig festgelegt"
    assert render.headline(placed.kind, site, "en") == "Site dates provisionally set"
    assert render.subject(placed.kind, site, "de").startswith("Baustellentermin vorläufig festgelegt: ")
    # FIRST made room for it: its provisional slot moved, and that is a move
    [moved] = [n for n in told if n.request_id == uuid.UUID(fid) and n.kind == "slot.displaced"]
    assert render.headline(moved.kind, moved.payload["site"], "de") == "Baustellentermin verschoben"
    # the calendar entry is headed the same way (the move of FIRST stays a move there too)
    r = client.get(f"/v1/subscriptions/{sub.token}/calendar.ics")
    assert r.status_code == 200, r.text
    events = {str(ev["UID"]).removesuffix("@baustellen.ruhr"): str(ev["DESCRIPTION"])
              for ev in Calendar.from_ical(r.content).walk("VEVENT")}
    assert events[sr["id"]].startswith("Baustellentermin vorläufig festgelegt"), events[sr["id"]]
    assert "Site dates provisionally set" in events[sr["id"]]
    assert events[fid].startswith("Baustellentermin verschoben"), events[fid]
