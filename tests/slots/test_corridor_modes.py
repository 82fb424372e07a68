"""A tram corridor's limit counts the works that touch it (along or across) and stop or restrict the trams, as the
GTFS-RT feed sees them: a road closure along the line with the trams running takes no place, a full closure across
the line that stops the trams does. Placement, the conflicts domain, approval and plan runs agree."""

from __future__ import annotations

from tests.slots.helpers import assert_slots_valid, plan
from tests.slots.test_corridor_shifts_and_bundles import PERIOD, tram_corridor
from tests.workflow.flow import act, approved, create, d, ok

# Ruhrbahn's works on the track, along the corridor's northern part
TRAM_WORKS = {"kind": "tram_track", "modes": ["tram"], "diversions": [], "impact": "full_closure",
              "geometry": {"type": "LineString", "coordinates": [[6.99868, 51.4442], [6.99801, 51.4461]]}}
# a street across the tram line (300 m, about 50 m of it in the corridor's band), 600 m south of TRAM_WORKS
ACROSS = {"type": "LineString", "coordinates": [[6.99849, 51.43865], [7.00281, 51.43865]]}


def corridor_kinds(rows: list[dict]) -> list[str]:
    return [c["kind"] for c in rows if c["kind"] == "corridor"]


def test_a_road_closure_with_the_trams_running_takes_no_place_on_the_tram_corridor(  # noqa: ANN001
        client, db, make_caller, city, coordinator, factory, settings) -> None:
    tram_corridor(db)
    ruhrbahn = make_caller("transit_operator", "submitter", "Ruhrbahn")
    # the city's sewer closure along the line, for cars and cycles: the trams keep running
    sewer = approved(client, city, coordinator, 0, modes=["car", "cycle"])
    tram = create(client, ruhrbahn, **TRAM_WORKS)
    assert tram["slot"]["start"] == d(0), tram["slot"]
    assert corridor_kinds(client.get(f"/v1/requests/{tram['id']}/conflicts", headers=ruhrbahn.headers).json()) == []
    check = client.post("/v1/conflicts/check", headers=ruhrbahn.headers, json={
        "request_id": tram["id"], "geometry": TRAM_WORKS["geometry"], "earliest_start": d(0), "latest_end": d(9),
        "duration_days": 10, "impact": "full_closure", "kind": "tram_track", "modes": ["tram"]})
    assert check.status_code == 200 and corridor_kinds(check.json()["conflicts"]) == [], check.text
    ok(client, coordinator, tram["id"], "propose", {"start": d(0)})
    ok(client, ruhrbahn, tram["id"], "accept")
    assert ok(client, coordinator, tram["id"], "approve")["status"] == "approved"
    result = plan(client, coordinator, factory, settings, bbox=PERIOD["bbox"], start=PERIOD["start"],
                  end=PERIOD["end"])
    assert result["status"] == "done", result
    assert assert_slots_valid(db, settings, bbox=PERIOD["bbox"], start=PERIOD["start"], end=PERIOD["end"]) == 2
    assert client.get(f"/v1/requests/{sewer['id']}", headers=city.headers).json()["slot"]["start"] == d(0)


def test_a_full_closure_across_the_tram_line_takes_its_place(  # noqa: ANN001
        client, db, make_caller, city, coordinator, factory, settings) -> None:
    tram_corridor(db)
    ruhrbahn = make_caller("transit_operator", "submitter", "Ruhrbahn")
    tram = approved(client, ruhrbahn, coordinator, 0, **TRAM_WORKS)
    # Martinstraße across the line, closed for cars, cycles and trams: placed after Ruhrbahn's works
    across = create(client, city, geometry=ACROSS, diversions=[], modes=["car", "cycle", "tram"])
    assert across["slot"]["start"] >= d(10), across["slot"]
    check = client.post("/v1/conflicts/check", headers=city.headers, json={
        "geometry": ACROSS, "earliest_start": d(0), "latest_end": d(9), "duration_days": 10,
        "impact": "full_closure", "kind": "sewer", "modes": ["car", "cycle", "tram"]})
    assert check.status_code == 200, check.text
    assert [(c["kind"], c["other"]["id"]) for c in check.json()["conflicts"]] == [("corridor", tram["id"])]
    # refused on Ruhrbahn's dates, naming its works
    r = act(client, coordinator, across["id"], "propose", {"start": d(0)})
    assert r.status_code == 409, r.text
    assert {(c["request_id"], c["kind"]) for c in r.json()["conflicts"]} == {(tram["id"], "corridor")}
    # the same closure with the trams running (cars and cycles only) takes no place
    cars = create(client, city, geometry=ACROSS, diversions=[], modes=["car", "cycle"], external_id="EB-cars")
    assert cars["slot"]["start"] == d(0), cars["slot"]
    result = plan(client, coordinator, factory, settings, bbox=PERIOD["bbox"], start=PERIOD["start"],
                  end=PERIOD["end"])
    assert result["status"] == "done", result
    assert assert_slots_valid(db, settings, bbox=PERIOD["bbox"], start=PERIOD["start"], end=PERIOD["end"]) == 3
    got = client.get(f"/v1/requests/{across['id']}", headers=city.headers).json()
    assert got["slot"]["start"] >= d(10), got["slot"]
