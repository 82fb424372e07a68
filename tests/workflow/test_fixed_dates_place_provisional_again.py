"""A coordinator fixes a slot at other dates (approval with ``start``, manual proposal): the provisional slots of
submitted requests that now clash with it, or break a precedence against it, are placed again at once, as after an
approved change; slots a plan run or a coordinator proposed stay (their approval checks them)."""

from __future__ import annotations

from datetime import date, timedelta

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
