"""Helpers of the slots tests."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from service.scheduler import check_plan
from service.slots import adapter, repository
from tests.conftest import site_body

ESSEN = [6.99, 51.43, 7.01, 51.45]


def plan(client, coordinator, factory, settings, *, bbox=ESSEN, start="2027-01-01", end="2028-12-31") -> dict:  # noqa: ANN001
    """POST /v1/plans, run it as the worker would, and return GET /v1/plans/{id}."""
    from service.slots.service import run_plan

    r = client.post("/v1/plans", json={"bbox": bbox, "from": start, "to": end}, headers=coordinator.headers)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/plans/{r.json()['id']}"
    assert r.json()["status"] == "queued"
    run_plan(factory, r.json()["id"], settings)
    got = client.get(f"/v1/plans/{r.json()['id']}", headers=coordinator.headers)
    assert got.status_code == 200
    return got.json()


def assert_slots_valid(db, settings, *, bbox=ESSEN, start="2027-01-01", end="2028-12-31") -> int:  # noqa: ANN001
    """Rebuild the problem from the database and run the independent checker on the stored slots."""
    scope = adapter.Scope(date.fromisoformat(start), date.fromisoformat(end), tuple(bbox))
    built = adapter.build(db, scope, settings)
    slots = repository.slots_of(db, [i.request_id for i in built.info.values()])
    # a slot a plan placed outside its counter-proposal (which could not be met) is checked against the own window
    outside = []
    for tid in built.counter:
        task, slot = built.problem.task_map()[tid], slots.get(built.info[tid].request_id)
        if slot is not None and slot.start is not None and not (
                task.earliest_start <= built.day(slot.start) <= task.latest_end - task.duration):
            outside.append(tid)
    adapter.fall_back(built, outside)
    starts, unplaced = {}, {}
    for tid, info in built.info.items():
        slot = slots.get(info.request_id)
        task = built.problem.task_map()[tid]
        if task.fixed_start is not None:
            starts[tid] = task.fixed_start
        elif slot is not None and slot.start is not None:
            starts[tid] = built.day(slot.start)
            assert (slot.end - slot.start).days + 1 == task.duration
        else:
            unplaced[tid] = "unplaced"
    # the fixed load tasks of over-full zones (not requests) sit where the adapter put them
    starts.update({t.id: t.fixed_start for t in built.problem.tasks
                   if t.id not in built.info and t.fixed_start is not None})
    violations = check_plan(built.problem, SimpleNamespace(starts=starts, unplaced=unplaced), "placement")
    assert violations == [], violations
    return sum(tid in built.info for tid in starts)  # requests with a slot (not the zones' fixed load tasks)


# One spot of a street where lane works of several organisations queue (tests of placing again).
SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}
SPOT_BBOX = [7.09, 51.41, 7.11, 51.43]


def lane_site(earliest: str, latest: str, days: int, preferred: str | None = None) -> dict:
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=preferred)


def post_site(client, caller, body: dict) -> dict:  # noqa: ANN001
    r = client.post("/v1/requests", json=body, headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def read_site(client, caller, rid: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()


def blocked_street(client, make_caller) -> tuple:  # noqa: ANN001
    """B holds 1–10 July 2027 and C 21–30 July (their windows allow nothing else); FIRST (1–30 July, wanted from
    the 5th) can only take 11–20 July; SECOND (1–20 July, wanted from the 11th) finds no start: B and FIRST block
    it, and FIRST cannot make room while B holds the days before it. Once B is withdrawn, SECOND could take 1–10
    July (10 days early), but the repair does better: FIRST moves to 1–10 July (4 days early) and SECOND gets
    11–20 July, its wish."""
    b, c, first, second = (make_caller("utility") for _ in range(4))
    bid = post_site(client, b, lane_site("2027-07-01", "2027-07-10", 10))["id"]
    post_site(client, c, lane_site("2027-07-21", "2027-07-30", 10))
    fr = post_site(client, first, lane_site("2027-07-01", "2027-07-30", 10, "2027-07-05"))
    assert (fr["slot"]["start"], fr["slot"]["end"]) == ("2027-07-11", "2027-07-20")
    sr = post_site(client, second, lane_site("2027-07-01", "2027-07-20", 10, "2027-07-11"))
    assert sr["slot"] is None and bid in sr["unplaced"]["blocking"], sr["unplaced"]
    return b, bid, first, fr["id"], second, sr["id"]
