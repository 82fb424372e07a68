"""A corridor's limit ("at most N works at a time") follows the conflicts domain's rule everywhere: placement on
submit, plan runs (and their checker), proposal and approval. Day-only and night-only works never compete for it
(``continuous`` works compete with both; above one place, day and night are two resources), and the tasks of one
bundle (one closure, one trench) do not count against each other."""

from __future__ import annotations

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString

from service.conflicts.models import Corridor
from tests.slots.helpers import assert_slots_valid, plan
from tests.workflow.flow import act, approved, create, d, ok

# the default site runs along the corridor's southern part; FAR runs along its northern part, 440 m away
STREET = LineString([(7.0012, 51.4371), (7.0001, 51.4402), (6.9979, 51.4464)])
FAR = {"type": "LineString", "coordinates": [[6.99868, 51.4442], [6.99801, 51.4461]]}
PERIOD = {"bbox": [6.99, 51.43, 7.01, 51.45], "start": d(0), "end": d(200)}
TRAM_WORKS = {"kind": "tram_track", "modes": ["tram"], "diversions": [], "shift": "night"}
# road works in the tram's street that stop the trams too (a road closure with the trams running takes no place)
STOPS_TRAMS = {"modes": ["car", "cycle", "tram"]}


def tram_corridor(db, max_concurrent: int = 1) -> None:  # noqa: ANN001
    db.add(Corridor(name="Straßenbahn Rüttenscheider Straße", kind="tram", buffer_m=25.0,
                    max_concurrent=max_concurrent, min_impact="lane_reduction", geom=from_shape(STREET, srid=4326)))
    db.flush()


def corridor_conflicts(client, caller, rid: str) -> list[dict]:  # noqa: ANN001
    r = client.get(f"/v1/requests/{rid}/conflicts", headers=caller.headers)
    assert r.status_code == 200, r.text
    return [c for c in r.json() if c["kind"] == "corridor"]


def approve_on(client, owner, coordinator, rid: str, start: str) -> None:  # noqa: ANN001
    """The coordination office proposes ``start``, the owner accepts, the office approves: no rule stands in the way."""
    ok(client, coordinator, rid, "propose", {"start": start})
    ok(client, owner, rid, "accept")
    assert ok(client, coordinator, rid, "approve")["status"] == "approved"


def test_a_day_closure_shares_the_corridor_with_an_approved_night_tram_work(  # noqa: ANN001
        client, db, make_caller, city, utility, coordinator) -> None:
    tram_corridor(db)
    transit = make_caller("transit_operator", "submitter", "Ruhrbahn")
    night = approved(client, transit, coordinator, 0, **TRAM_WORKS)
    day = create(client, city, shift="day", **STOPS_TRAMS)
    # placed on its preferred dates at once, beside the night works, as the conflicts domain sees it
    assert day["slot"]["start"] == d(0), day["slot"]
    assert corridor_conflicts(client, city, day["id"]) == []
    check = client.post("/v1/conflicts/check", headers=city.headers, json={
        "request_id": day["id"], "geometry": day["geometry"], "earliest_start": d(0), "latest_end": d(9),
        "impact": "full_closure", "kind": "sewer", "shift": "day", "duration_days": 10, **STOPS_TRAMS})
    assert check.status_code == 200 and [c for c in check.json()["conflicts"] if c["kind"] == "corridor"] == []
    approve_on(client, city, coordinator, day["id"], d(0))
    # continuous works compete with both: placed after them, and refused on their dates
    both = create(client, utility, kind="water", diversions=[], geometry=FAR, **STOPS_TRAMS)
    assert both["slot"]["start"] >= d(10), both["slot"]
    r = act(client, coordinator, both["id"], "propose", {"start": d(0)})
    assert r.status_code == 409, r.text
    assert {(c["request_id"], c["kind"]) for c in r.json()["conflicts"]} == {(night["id"], "corridor"),
                                                                            (day["id"], "corridor")}


def test_a_plan_run_puts_day_and_night_works_on_one_corridor_at_once(  # noqa: ANN001
        client, db, make_caller, city, coordinator, factory, settings) -> None:
    tram_corridor(db)
    transit = make_caller("transit_operator", "submitter", "Ruhrbahn")
    night = create(client, transit, **TRAM_WORKS)
    day = create(client, city, shift="day", **STOPS_TRAMS)
    result = plan(client, coordinator, factory, settings, bbox=PERIOD["bbox"], start=PERIOD["start"],
                  end=PERIOD["end"])
    assert result["status"] == "done", result
    for rid, caller in ((night["id"], transit), (day["id"], city)):
        got = client.get(f"/v1/requests/{rid}", headers=caller.headers).json()
        assert got["slot"]["start"] == d(0), got["slot"]
    assert assert_slots_valid(db, settings, bbox=PERIOD["bbox"], start=PERIOD["start"], end=PERIOD["end"]) == 2


def test_above_one_place_day_and_night_are_two_resources(  # noqa: ANN001
        client, db, make_caller, city, utility, coordinator) -> None:
    tram_corridor(db, max_concurrent=2)
    transit = make_caller("transit_operator", "submitter", "Ruhrbahn")
    # two night works fill the corridor's two places by night, none by day
    nights = [approved(client, transit, coordinator, 0, **TRAM_WORKS) for _ in range(2)]
    day = create(client, city, shift="day", **STOPS_TRAMS)
    assert day["slot"]["start"] == d(0), day["slot"]
    approve_on(client, city, coordinator, day["id"], d(0))
    # continuous works need a place by night too: refused where the nights are full, named as the corridor's
    both = create(client, utility, kind="water", diversions=[], geometry=FAR, **STOPS_TRAMS)
    assert both["slot"]["start"] >= d(10), both["slot"]
    r = act(client, coordinator, both["id"], "propose", {"start": d(0)})
    assert r.status_code == 409, r.text
    assert {(c["request_id"], c["kind"]) for c in r.json()["conflicts"]} == {(n["id"], "corridor") for n in nights}


def test_bundle_partners_share_a_one_at_a_time_corridor(  # noqa: ANN001
        client, db, city, coordinator, factory, settings) -> None:
    tram_corridor(db)
    first = approved(client, city, coordinator, 0, **STOPS_TRAMS)
    second = create(client, city, kind="water", bundle_with=[first["id"]], **STOPS_TRAMS)
    # one closure, one trench: placed with its partner, not after it
    assert second["slot"]["start"] == d(0), second["slot"]
    assert second["slot"]["explanation"].get("blockers", []) == []
    ok(client, coordinator, second["id"], "propose", {"start": d(0)})
    ok(client, city, second["id"], "accept")
    assert ok(client, coordinator, second["id"], "approve")["status"] == "approved"
    assert corridor_conflicts(client, city, second["id"]) == []
    assert assert_slots_valid(db, settings, bbox=PERIOD["bbox"], start=PERIOD["start"], end=PERIOD["end"]) == 2


def test_a_plan_run_and_the_placement_agree_on_bundled_works(  # noqa: ANN001
        client, db, city, coordinator, factory, settings) -> None:
    tram_corridor(db)
    first = create(client, city, **STOPS_TRAMS)
    second = create(client, city, kind="water", bundle_with=[first["id"]], **STOPS_TRAMS)
    assert second["slot"]["start"] == first["slot"]["start"] == d(0)
    result = plan(client, coordinator, factory, settings, bbox=PERIOD["bbox"], start=PERIOD["start"],
                  end=PERIOD["end"])
    assert result["status"] == "done", result
    for rid in (first["id"], second["id"]):
        assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"]["start"] == d(0)
    assert assert_slots_valid(db, settings, bbox=PERIOD["bbox"], start=PERIOD["start"], end=PERIOD["end"]) == 2
