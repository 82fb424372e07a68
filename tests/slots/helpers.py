"""Helpers of the slots tests."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

from service.scheduler import check_plan
from service.slots import adapter, repository

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
