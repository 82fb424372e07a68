"""A request placed again at once (its blocker was withdrawn) tells its subscribers the dates it has now, and a
provisional neighbour the repair moves for it says why; a plan for a later period says which part of the window it
found no free start in. Real PostGIS, through the API."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from service.events.models import Event
from service.notices import service as notices
from service.slots import explanations, repository
from tests.conftest import site_body
from tests.notices.helpers import notices_of, subscribe
from tests.slots.helpers import blocked_street, plan, post_site, read_site


def test_a_request_placed_after_its_blocker_was_withdrawn_tells_its_subscribers(client, make_caller, db,  # noqa: ANN001
                                                                                 settings) -> None:
    b, bid, _, _, second, sid = blocked_street(client, make_caller)
    sub = subscribe(client, db, area={"point": [7.1002, 51.4200], "radius_m": 300})
    notices.process_events(db, settings)  # told of every site as it is: SECOND without dates of its own
    db.flush()
    assert client.post(f"/v1/requests/{bid}/withdraw", json={"reason": "verschoben"},
                       headers=b.headers).status_code == 200
    got = read_site(client, second, sid)
    assert (got["slot"]["start"], got["slot"]["end"]) == ("2027-07-11", "2027-07-20")
    db.expire_all()
    [event] = db.scalars(select(Event).where(Event.request_id == uuid.UUID(sid),
                                             Event.kind == "slot.displaced")).all()
    assert event.payload["slot"] == {"start": "2027-07-11", "end": "2027-07-20", "status": "proposed"}
    assert event.payload["previous_slot"] is None and event.payload["freed_by"] == bid
    # the subscribers hear of the dates the site has now
    notices.process_events(db, settings)
    db.flush()
    told = [n for n in notices_of(db, sub.id) if n.request_id == uuid.UUID(sid)]
    assert [n.kind for n in told] == ["request.created", "slot.displaced"]
    site = told[-1].payload["site"]
    assert (site["start"], site["end"], site["dates"]) == ("2027-07-11", "2027-07-20", "proposed")


def test_a_neighbour_moved_for_a_request_placed_again_says_so(client, make_caller) -> None:  # noqa: ANN001
    b, bid, first, fid, second, sid = blocked_street(client, make_caller)
    assert client.delete(f"/v1/requests/{bid}", headers=b.headers).status_code in (200, 204)
    assert read_site(client, second, sid)["slot"]["start"] == "2027-07-11"
    moved = read_site(client, first, fid)["slot"]
    assert (moved["start"], moved["explanation"]["moved_for"]) == ("2027-07-01", sid)
    summary = moved["explanation"]["summary"]
    assert summary["de"] == ("4 Tage früher als gewünscht eingeplant: Beginn 01.07.2027 statt 05.07.2027. "
                             "Verschoben, um Platz für einen erneut eingeplanten Antrag zu machen.")
    assert summary["en"] == ("Placed 4 days earlier than preferred: starts 1 Jul 2027 instead of 5 Jul 2027. "
                             "Moved to make room for a request placed again.")


def test_the_moved_summary_names_what_the_placed_request_was() -> None:
    start, preferred = date(2027, 3, 11), date(2027, 3, 1)
    new = explanations.moved_for_summary(start, preferred)
    assert new["de"].endswith("Verschoben, um Platz für einen neuen Antrag zu machen.")
    assert new["en"].endswith("Moved to make room for a newly submitted request.")
    again = explanations.moved_for_summary(start, preferred, cause="again")
    assert again["de"].endswith("Verschoben, um Platz für einen erneut eingeplanten Antrag zu machen.")
    assert again["en"].endswith("Moved to make room for a request placed again.")
    edited = explanations.moved_for_summary(start, preferred, cause="edited")
    assert edited["de"].endswith("Verschoben, um Platz für einen geänderten Antrag zu machen.")
    assert edited["en"].endswith("Moved to make room for a changed request.")


def test_a_plan_for_a_later_period_says_the_part_of_the_window_it_looked_at(client, city, utility, coordinator,  # noqa: ANN001
                                                                             factory, settings, db) -> None:
    """X, a full closure locked 16 April – 12 September 2028; Y, another owner's closure on the same street, 60
    days in 15 February – 30 September 2028, without a slot: a plan from 1 March finds no start for it (16 February
    is free, but before the period)."""
    x = post_site(client, city, site_body(earliest_start="2028-04-16", latest_end="2028-09-12", duration_days=150,
                                      preferred_start=None))
    assert client.post(f"/v1/requests/{x['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    y = post_site(client, utility, site_body(kind="water", earliest_start="2028-02-15", latest_end="2028-09-30",
                                         preferred_start="2028-03-15"))["id"]
    repository.delete_slot(db, uuid.UUID(y))
    db.flush()
    got = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-09-30")
    assert got["statistics"]["unplaced"] == 1
    unplaced = read_site(client, utility, y)["unplaced"]
    assert unplaced["reason"]["de"].startswith(
        "Kein Beginn im Teil des Zeitfensters ab dem Beginn des Planungszeitraums (01.03.2028) ist frei: "
        "blockiert durch"), unplaced["reason"]
    assert unplaced["reason"]["en"].startswith(
        "No start in the part of the window from the start of the plan period (1 Mar 2028) is free: blocked by")
    assert unplaced["window_part"] == {"from": "2028-03-01", "to": None}
    # a plan over the whole window speaks of the window
    whole = plan(client, coordinator, factory, settings, start="2028-02-01", end="2028-09-30")
    assert whole["statistics"]["placed"] == 1
