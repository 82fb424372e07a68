"""A site left without dates that gets its first ones (its blocker withdrew, ``slots.service.place_unblocked``) is
told "Baustellentermin vorläufig festgelegt", not "verschoben", in the notice and its calendar entry; a provisional
slot that really moved still says "verschoben". Real PostGIS, through the API."""

from __future__ import annotations

import uuid

from icalendar import Calendar

from service.notices import render
from service.notices import service as notices
from tests.notices.helpers import notices_of, subscribe
from tests.slots.helpers import blocked_street


def test_first_dates_are_set_not_moved(client, make_caller, db, settings) -> None:  # noqa: ANN001
    b, bid, _, fid, _, sid = blocked_street(client, make_caller)
    sub = subscribe(client, db, area={"point": [7.1002, 51.4200], "radius_m": 300})
    notices.process_events(db, settings)
    db.flush()
    assert client.post(f"/v1/requests/{bid}/withdraw", json={"reason": "verschoben"},
                       headers=b.headers).status_code == 200
    notices.process_events(db, settings)
    db.flush()
    told = notices_of(db, sub.id)
    [placed] = [n for n in told if n.request_id == uuid.UUID(sid) and n.kind == "slot.displaced"]
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
    assert events[sid].startswith("Baustellentermin vorläufig festgelegt"), events[sid]
    assert "Site dates provisionally set" in events[sid]
    assert events[fid].startswith("Baustellentermin verschoben"), events[fid]
