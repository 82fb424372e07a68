"""Incremental placement: the repair of the neighbourhood and edits of requests with a locked slot."""

from __future__ import annotations

from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}
SPOT_BBOX = [7.09, 51.41, 7.11, 51.43]


def _lane(earliest: str, latest: str, days: int, preferred: str | None = None, **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred, **extra)


def _slot(client, caller, rid: str) -> dict | None:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()["slot"]


def test_repair_never_moves_a_neighbour_onto_a_site_it_conflicts_with(client, make_caller, db, settings) -> None:  # noqa: ANN001
    z, r, p, q = (make_caller("utility") for _ in range(4))
    client.post("/v1/requests", json=_lane("2027-01-01", "2027-05-31", 151), headers=z.headers)
    client.post("/v1/requests", json=_lane("2027-07-01", "2027-12-31", 184), headers=r.headers)
    pr = client.post("/v1/requests", json=_lane("2027-01-01", "2027-12-31", 30, "2027-06-01"),
                     headers=p.headers).json()
    assert (pr["slot"]["start"], pr["slot"]["end"]) == ("2027-06-01", "2027-06-30")
    qr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-06-30", 30), headers=q.headers).json()
    # P cannot go anywhere else in its window (Z holds January to May, R July to December): Q waits
    assert qr["slot"] is None and qr["unplaced"]["blocking"] == [pr["id"]]
    after = _slot(client, p, pr["id"])
    assert (after["start"], after["end"]) == ("2027-06-01", "2027-06-30")
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 3


def test_a_neighbour_moved_by_the_repair_gets_its_conflicts_refreshed(client, make_caller, db, settings) -> None:  # noqa: ANN001
    p, q = make_caller("utility"), make_caller("utility")
    pr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-07-30", 30, "2027-06-01"),
                     headers=p.headers).json()
    assert pr["slot"]["start"] == "2027-06-01"
    # the same owner's site in July: no hard conflict, and none recorded while P works in June
    dr = client.post("/v1/requests", json=_lane("2027-07-01", "2027-07-30", 30), headers=p.headers).json()
    assert dr["slot"]["start"] == "2027-07-01"
    conflicts = client.get(f"/v1/requests/{pr['id']}/conflicts", headers=p.headers).json()
    assert dr["id"] not in {c["other"]["id"] for c in conflicts if c.get("other")}
    qr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-06-30", 30), headers=q.headers).json()
    assert (qr["slot"]["start"], qr["slot"]["end"]) == ("2027-06-01", "2027-06-30")
    moved = _slot(client, p, pr["id"])
    assert (moved["start"], moved["end"], moved["provisional"]) == ("2027-07-01", "2027-07-30", True)
    last = client.get(f"/v1/requests/{pr['id']}/history", headers=p.headers).json()[-1]
    assert last["action"] == "slot.moved", last
    assert last["reason"] == f"Verschoben für „{qr['title']}“ / Moved for “{qr['title']}”", last
    assert (last["before"]["slot"]["start"], last["after"]["slot"]["start"]) == ("2027-06-01", "2027-07-01")
    # P now works in July next to D, and no longer in June next to Q: its stored conflicts say so
    others = {c["other"]["id"]: c for c in client.get(f"/v1/requests/{pr['id']}/conflicts",
                                                      headers=p.headers).json() if c.get("other")}
    assert dr["id"] in others and others[dr["id"]]["kind"] == "same_owner"
    assert qr["id"] not in others
    assert assert_slots_valid(db, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-12-31") == 3


def test_editing_a_request_releases_a_locked_slot_that_no_longer_fits(client, city, coordinator) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    assert client.post(f"/v1/requests/{a['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    # a change that keeps the slot inside the window keeps the lock
    kept = client.patch(f"/v1/requests/{a['id']}", json={"title": "Kanal, 2. Bauabschnitt"},
                        headers={**city.headers, "If-Match": "*"})
    assert kept.status_code == 200, kept.text
    assert (kept.json()["slot"]["status"], kept.json()["slot"]["start"]) == ("locked", "2027-04-01")
    # the locked 1 April .. 30 May no longer fits a window from 1 June: the lock goes, the request is placed again
    r = client.patch(f"/v1/requests/{a['id']}", json={"earliest_start": "2027-06-01", "preferred_start": None},
                     headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    slot = r.json()["slot"]
    assert (slot["status"], slot["provisional"]) == ("proposed", True)
    assert (slot["start"], slot["end"]) == ("2027-06-01", "2027-07-30")
    released = slot["explanation"]["lock_released"]
    assert released["de"].startswith("Sperre aufgehoben") and "01.04.2027–30.05.2027" in released["de"]
    assert released["en"].startswith("Lock released because the request changed")
    history = client.get(f"/v1/requests/{a['id']}/history", headers=city.headers).json()
    assert [h["action"] for h in history][-2:] == ["update", "slot.unlocked"]
    assert history[-1]["reason"].startswith("Sperre aufgehoben") and "request changed" in history[-1]["reason"]
    # a shorter duration no longer fits the locked slot either
    assert client.post(f"/v1/requests/{a['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    r = client.patch(f"/v1/requests/{a['id']}", json={"duration_days": 40}, headers={**city.headers, "If-Match": "*"})
    slot = r.json()["slot"]
    assert (slot["status"], slot["start"], slot["end"]) == ("proposed", "2027-06-01", "2027-07-10")



def test_nearest_feasible_window_counts_sites_outside_the_window(client, make_caller, coordinator, factory,
                                                                 settings) -> None:  # noqa: ANN001
    from tests.slots.helpers import plan

    a, b, c = (make_caller("utility") for _ in range(3))
    ar = client.post("/v1/requests", json=_lane("2027-04-01", "2027-05-30", 60), headers=a.headers).json()
    # C's window lies wholly after B's: it is no neighbour of B's own window, but it holds 10 June .. 30 July
    cr = client.post("/v1/requests", json=_lane("2027-06-01", "2027-09-30", 51, "2027-06-10"),
                     headers=c.headers).json()
    assert (cr["slot"]["start"], cr["slot"]["end"]) == ("2027-06-10", "2027-07-30")
    for rid in (ar["id"], cr["id"]):
        assert client.post(f"/v1/requests/{rid}/slot/lock", headers=coordinator.headers).status_code == 200
    br = client.post("/v1/requests", json=_lane("2027-04-10", "2027-05-20", 30), headers=b.headers).json()
    assert br["slot"] is None and br["unplaced"]["blocking"] == [ar["id"]]
    # 31 May .. 9 June is too short for 30 days: the nearest later end is after C, the nearest earlier start
    # before A (both windows checked against every stored slot, not only the request's own neighbours)
    expected = {"latest_end": "2027-08-29", "earliest_start": "2027-03-02"}
    assert br["unplaced"]["nearest_feasible"] == expected
    plan(client, coordinator, factory, settings, bbox=SPOT_BBOX, start="2027-01-01", end="2027-05-31")
    after = client.get(f"/v1/requests/{br['id']}", headers=b.headers).json()
    assert after["slot"] is None and after["unplaced"]["nearest_feasible"] == expected
