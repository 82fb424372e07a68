"""A coordinator fixes a slot at other dates (approval with ``start``, manual proposal), locks it, or the
coordinator's silence deems it approved: the provisional slots of submitted requests that now clash with it, or
break a precedence against it, are placed again at once, as after an approved change; slots a plan run or a
coordinator proposed stay (their approval checks them)."""

from __future__ import annotations

from datetime import date, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import box

from service.conflicts.models import Zone
from service.workflow import service
from service.workflow.models import RequestDeadline
from tests.workflow.flow import act, events, get, history, ok, patch

LINE = {"type": "LineString", "coordinates": [[6.91, 51.53], [6.912, 51.529]]}


def site(**overrides):  # noqa: ANN003, ANN201
    from tests.conftest import site_body

    return site_body(geometry=LINE, diversions=[], **overrides)


def trench_and_surface(client, utility, city, coordinator) -> tuple[dict, dict]:  # noqa: ANN001
    """The utility's trench (provisional 04-01..04-20) and the city's resurfacing, ordered after it by the
    coordination office (placed again 04-21..04-30, provisional)."""
    r = client.post("/v1/requests", headers=utility.headers, json=site(
        title="Gasleitung", kind="gas", earliest_start="2027-03-01", latest_end="2027-10-31", duration_days=20,
        preferred_start="2027-04-01"))
    assert r.status_code == 201, r.text
    trench = r.json()
    assert (trench["slot"]["start"], trench["slot"]["end"]) == ("2027-04-01", "2027-04-20")
    r = client.post("/v1/requests", headers=city.headers, json=site(
        title="Deckschicht", kind="road_maintenance", earliest_start="2027-03-01", latest_end="2027-12-31",
        duration_days=10, preferred_start="2027-04-01"))
    assert r.status_code == 201, r.text
    surface = r.json()
    r = patch(client, coordinator, surface["id"],
              {"after": [{"request": trench["id"], "min_gap_days": 0, "max_gap_days": 30}]})
    assert r.status_code == 200, r.text
    slot = get(client, city, surface["id"])["slot"]
    assert (slot["start"], slot["end"], slot["status"], slot["provisional"]) == (
        "2027-04-21", "2027-04-30", "proposed", True)
    return trench, surface


def after_trench(client, city, coordinator, trench: dict, surface: dict) -> dict:  # noqa: ANN001
    """The resurfacing's slot: after the trench's, within the gap, and clashing with it no more."""
    fixed = get(client, coordinator, trench["id"])["slot"]
    slot = get(client, city, surface["id"])["slot"]
    end = date.fromisoformat(fixed["end"])
    start = date.fromisoformat(slot["start"])
    assert end < start <= end + timedelta(days=31), (fixed, slot)
    r = client.get(f"/v1/requests/{surface['id']}/conflicts", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert not [c for c in r.json() if c["hard"] and (c.get("other") or {}).get("id") == trench["id"]], r.json()
    return slot


def test_an_approval_at_other_dates_places_a_provisional_successor_again(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = trench_and_surface(client, utility, city, coordinator)
    etag = client.get(f"/v1/requests/{trench['id']}", headers=coordinator.headers).headers["etag"]
    r = act(client, coordinator, trench["id"], "approve", {"start": "2027-04-15"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert (r.json()["slot"]["start"], r.json()["slot"]["end"]) == ("2027-04-15", "2027-05-04")
    slot = after_trench(client, city, coordinator, trench, surface)
    assert slot["start"] == "2027-05-05" and slot["provisional"]
    assert slot["explanation"]["fixed_by"] == trench["id"]
    assert "Gasleitung" in slot["explanation"]["placed_again"]["de"]
    assert "genehmigt" in slot["explanation"]["summary"]["de"]
    assert history(db, surface["id"])[-1].action == "slot.placed"
    told = events(db, surface["id"])[-1]
    assert (told.kind, told.payload["previous_slot"]["start"]) == ("slot.displaced", "2027-04-21")
    # the approved slot no longer warns of the order it broke
    assert "precedence_warnings" not in get(client, coordinator, trench["id"])["slot"]["explanation"]


def test_a_proposal_at_other_dates_places_a_provisional_successor_again(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = trench_and_surface(client, utility, city, coordinator)
    r = act(client, coordinator, trench["id"], "propose", {"start": "2027-04-15"})
    assert r.status_code == 200, r.text
    slot = after_trench(client, city, coordinator, trench, surface)
    assert slot["start"] == "2027-05-05"
    assert history(db, surface["id"])[-1].action == "slot.placed"


def test_a_coordinator_s_proposal_is_not_moved_by_an_approval(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = trench_and_surface(client, utility, city, coordinator)
    ok(client, coordinator, surface["id"], "propose", {"start": "2027-04-21"})
    etag = client.get(f"/v1/requests/{trench['id']}", headers=coordinator.headers).headers["etag"]
    r = act(client, coordinator, trench["id"], "approve", {"start": "2027-04-15"}, **{"If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["warnings"], r.text
    assert get(client, city, surface["id"])["slot"]["start"] == "2027-04-21"


def test_an_approval_at_other_dates_moves_a_provisional_slot_it_clashes_with(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    """No order between them: the resurfacing was placed after the trench's provisional slot only because they
    clash. Approved at other dates, the trench leaves its old days free: the resurfacing gets its wish."""
    r = client.post("/v1/requests", headers=utility.headers, json=site(
        title="Gasleitung", kind="gas", earliest_start="2027-03-01", latest_end="2027-10-31", duration_days=20,
        preferred_start="2027-04-01"))
    trench = r.json()
    r = client.post("/v1/requests", headers=city.headers, json=site(
        title="Deckschicht", kind="road_maintenance", earliest_start="2027-03-01", latest_end="2027-12-31",
        duration_days=10, preferred_start="2027-04-10"))
    surface = r.json()
    assert surface["slot"]["start"] == "2027-04-21", surface["slot"]
    r = act(client, coordinator, trench["id"], "approve", {"start": "2027-04-18"})
    assert r.status_code == 200, r.text
    slot = get(client, city, surface["id"])["slot"]
    assert (slot["start"], slot["end"]) == ("2027-04-08", "2027-04-17"), slot
    assert slot["explanation"]["fixed_by"] == trench["id"]
    r = client.get(f"/v1/requests/{surface['id']}/conflicts", headers=coordinator.headers)
    assert not [c for c in r.json() if c["hard"]], r.json()


def trench_before_surface(client, utility, city, coordinator) -> tuple[dict, dict]:  # noqa: ANN001
    """The utility's trench proposed by the coordination office on 04-01..04-20; the city's resurfacing placed at
    once after it (provisional 04-21..04-30, it clashes on the same street). Then the coordination office orders
    the trench after the resurfacing (a ``PATCH`` of ``after`` while the trench is agreed on): the trench's slot
    keeps its dates and warns that it breaks the order with the resurfacing's provisional slot."""
    r = client.post("/v1/requests", headers=utility.headers, json=site(
        title="Gasleitung", kind="gas", earliest_start="2027-03-01", latest_end="2027-10-31", duration_days=20,
        preferred_start="2027-04-01"))
    assert r.status_code == 201, r.text
    trench = r.json()
    ok(client, coordinator, trench["id"], "propose", {"start": "2027-04-01"})
    r = client.post("/v1/requests", headers=city.headers, json=site(
        title="Deckschicht", kind="road_maintenance", earliest_start="2027-03-01", latest_end="2027-12-31",
        duration_days=10, preferred_start="2027-04-10"))
    assert r.status_code == 201, r.text
    surface = r.json()
    assert (surface["slot"]["start"], surface["slot"]["provisional"]) == ("2027-04-21", True), surface["slot"]
    r = patch(client, coordinator, trench["id"], {"after": [{"request": surface["id"], "min_gap_days": 0}]})
    assert r.status_code == 200, r.text
    assert "„Deckschicht“" in r.json()["warnings"][0]
    assert get(client, city, surface["id"])["slot"]["start"] == "2027-04-21"  # a proposal moves nothing yet
    return trench, surface


def before_trench(client, db, city, coordinator, trench: dict, surface: dict, how: str) -> None:  # noqa: ANN001
    """The resurfacing was placed again before the fixed trench, as after an approval: its explanation, history
    and event say so, and the trench's slot no longer warns of the order."""
    slot = get(client, city, surface["id"])["slot"]
    assert (slot["start"], slot["end"], slot["status"], slot["provisional"]) == (
        "2027-03-22", "2027-03-31", "proposed", True), slot
    assert slot["explanation"]["fixed_by"] == trench["id"]
    assert f"„Gasleitung“ {how}" in slot["explanation"]["placed_again"]["de"]
    assert f"„Gasleitung“ {how}" in slot["explanation"]["summary"]["de"]
    assert history(db, surface["id"])[-1].action == "slot.placed"
    told = events(db, surface["id"])[-1]
    assert told.kind == "slot.displaced" and told.payload["moved_for"] == trench["id"]
    assert (told.payload["previous_slot"]["start"], told.payload["slot"]["start"]) == ("2027-04-21", "2027-03-22")
    assert "precedence_warnings" not in get(client, coordinator, trench["id"])["slot"]["explanation"]


def test_a_lock_places_a_provisional_slot_that_breaks_the_order_again(  # noqa: ANN001
        client, db, utility, city, coordinator) -> None:
    trench, surface = trench_before_surface(client, utility, city, coordinator)
    r = client.post(f"/v1/requests/{trench['id']}/slot/lock", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    assert r.json()["slot"]["status"] == "locked" and r.json()["warnings"] == [], r.text
    before_trench(client, db, city, coordinator, trench, surface, "festgelegt wurde")
    assert "were locked" in get(client, city, surface["id"])["slot"]["explanation"]["placed_again"]["en"]


def test_a_deemed_approval_places_a_provisional_slot_that_breaks_the_order_again(  # noqa: ANN001
        client, db, settings, utility, city, coordinator) -> None:
    trench, surface = trench_before_surface(client, utility, city, coordinator)
    ok(client, utility, trench["id"], "accept")
    db.expire_all()
    due = db.get(RequestDeadline, trench["id"]).due_at
    # the resurfacing came in a day later: the coordinator's clock for it still runs
    db.get(RequestDeadline, surface["id"]).due_at = due + timedelta(days=1)
    db.flush()
    assert service.check_deadlines(db, settings, now=due).deemed_approved == [trench["id"]]
    db.expire_all()
    assert get(client, coordinator, trench["id"])["slot"]["status"] == "approved"
    before_trench(client, db, city, coordinator, trench, surface, "nach Ablauf der Frist als genehmigt gilt")
    deemed = events(db, trench["id"])[-1]
    assert deemed.kind == "request.deemed_approved" and "precedence_warnings" not in deemed.payload


def test_a_lock_moves_a_provisional_slot_out_of_the_zone_it_fills(client, db, city, coordinator) -> None:  # noqa: ANN001
    """Two sites of one owner in one street district share days; a zone for one site at a time set up later makes
    them clash. Locked, the first one wins: the second's provisional slot moves after it."""
    from tests.conftest import site_body

    first, second = (client.post("/v1/requests", headers=city.headers, json=site_body(
        title=title, geometry={"type": "Point", "coordinates": point}, diversions=[], earliest_start=start,
        latest_end="2027-10-31", duration_days=10, preferred_start="2027-04-01")).json()
        for title, point, start in (("Kanal Nord", [6.995, 51.435], "2027-03-01"),
                                    ("Kanal Süd", [7.005, 51.445], "2027-04-01")))
    assert first["slot"]["start"] == second["slot"]["start"] == "2027-04-01"
    db.add(Zone(name="Rüttenscheid", capacity=1, min_impact="lane_reduction",
                geom=from_shape(box(6.99, 51.43, 7.01, 51.45), srid=4326)))
    db.flush()
    r = client.post(f"/v1/requests/{first['id']}/slot/lock", headers=coordinator.headers)
    assert r.status_code == 200, r.text
    slot = get(client, city, second["id"])["slot"]
    assert (slot["start"], slot["provisional"]) == ("2027-04-11", True), slot
    assert slot["explanation"]["fixed_by"] == first["id"]
    told = events(db, second["id"])[-1]
    assert (told.kind, told.payload["previous_slot"]["start"]) == ("slot.displaced", "2027-04-01")
    assert get(client, city, first["id"])["slot"]["start"] == "2027-04-01"
