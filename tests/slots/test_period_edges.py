"""A plan for a later period and the requests whose window starts before it (or runs past it): they keep the slot
they hold, also when their counter-proposal cannot be met; the nearest feasible window never advises what the
window already allows. Real PostGIS, through the API."""

from __future__ import annotations

import uuid
from datetime import date

from service.scheduler import Problem, Task
from service.slots import adapter, repository
from service.slots.service import counter_json
from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid, plan
from tests.workflow.flow import ok


def _slot(client, caller, rid: str) -> dict | None:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()["slot"]


def _street(client, city, utility, coordinator, *, latest_end: str = "2028-12-31") -> str:  # noqa: ANN001
    """X, a full closure locked 16 April – 12 September 2028; Y, another owner's closure on the same street, 60
    days in 15 February – ``latest_end``, wanted from 15 March: the only room before X is 16 February – 15 April.
    Returns Y's id (its slot still provisional)."""
    x = client.post("/v1/requests", json=site_body(earliest_start="2028-04-16", latest_end="2028-09-12",
                                                   duration_days=150, preferred_start=None),
                    headers=city.headers).json()
    assert (x["slot"]["start"], x["slot"]["end"]) == ("2028-04-16", "2028-09-12"), x["slot"]
    assert client.post(f"/v1/requests/{x['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    y = client.post("/v1/requests", json=site_body(kind="water", earliest_start="2028-02-15", latest_end=latest_end,
                                                   preferred_start="2028-03-15"), headers=utility.headers).json()
    assert (y["slot"]["start"], y["slot"]["end"]) == ("2028-02-16", "2028-04-15"), y["slot"]
    return y["id"]


def test_a_plan_for_a_later_period_keeps_a_slot_whose_window_starts_before_it(client, city, utility, coordinator,
                                                                                factory, settings, db) -> None:  # noqa: ANN001
    y = _street(client, city, utility, coordinator)
    got = plan(client, coordinator, factory, settings, start="2028-01-01", end="2028-12-31")
    slot = _slot(client, utility, y)
    assert (slot["start"], slot["end"], slot["plan_id"]) == ("2028-02-16", "2028-04-15", got["id"])
    # a plan from 1 March does not push Y behind X although 16 February was free: the days before March are not
    # its to judge, as the days after its end are not
    later = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-12-31")
    assert later["status"] == "done", later["error"]
    assert later["statistics"]["skipped_requests"][y] == adapter.SKIP_BEYOND
    assert later["statistics"]["slots"]["proposed"] == 0
    req = client.get(f"/v1/requests/{y}", headers=utility.headers).json()
    assert req["status"] == "slot_proposed" and req["unplaced"] is None
    assert req["slot"] == slot
    assert assert_slots_valid(db, settings, start="2028-03-01", end="2028-12-31") == 2


def test_a_plan_for_a_later_period_does_not_take_the_slot_away(client, city, utility, coordinator, factory,
                                                               settings, db) -> None:  # noqa: ANN001
    y = _street(client, city, utility, coordinator, latest_end="2028-09-30")
    plan(client, coordinator, factory, settings, start="2028-01-01", end="2028-09-30")
    slot = _slot(client, utility, y)
    assert (slot["start"], slot["end"]) == ("2028-02-16", "2028-04-15")
    later = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-09-30")
    assert later["statistics"]["unplaced"] == 0 and later["statistics"]["skipped_requests"][y] == adapter.SKIP_BEYOND
    req = client.get(f"/v1/requests/{y}", headers=utility.headers).json()
    assert req["status"] == "slot_proposed" and req["unplaced"] is None and req["slot"] == slot


def test_a_request_without_a_slot_is_planned_in_the_period_and_not_told_to_widen_a_window_that_fits(
        client, city, utility, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    y = _street(client, city, utility, coordinator, latest_end="2028-09-30")
    repository.delete_slot(db, uuid.UUID(y))  # however it came to hold none
    db.flush()
    got = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-09-30")
    assert got["statistics"]["requests"] == 1 and got["statistics"]["unplaced"] == 1  # only March on is planned
    unplaced = client.get(f"/v1/requests/{y}", headers=utility.headers).json()["unplaced"]
    # 16 February – 15 April is free and lies in Y's own window: nothing to bring forward (not to 14 February,
    # one day before a window that starts on the 15th) nor to extend
    assert unplaced["nearest_feasible"] is None, unplaced["nearest_feasible"]


def test_a_counter_proposal_that_cannot_be_met_keeps_the_slot_of_a_window_beyond_the_period(
        client, city, utility, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    y = _street(client, city, utility, coordinator)
    plan(client, coordinator, factory, settings, start="2028-01-01", end="2028-12-31")
    slot = _slot(client, utility, y)
    assert (slot["start"], slot["end"]) == ("2028-02-16", "2028-04-15")
    # the owner asks for May and June, which X holds
    ok(client, utility, y, "contest", {"reason": "Erst im Mai",
                                       "counter_proposal": {"earliest_start": "2028-05-01",
                                                            "latest_end": "2028-06-30"}})
    got = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-09-30")
    assert got["status"] == "done", got["error"]
    # the own window runs past the period (and starts before it): the plan keeps the slot Y holds, and says so,
    # instead of leaving Y without a slot while claiming the counter-proposal was met
    assert got["statistics"]["unplaced"] == 0 and got["statistics"]["skipped_requests"][y] == adapter.SKIP_BEYOND
    req = client.get(f"/v1/requests/{y}", headers=utility.headers).json()
    assert req["unplaced"] is None and req["status"] == "contested"  # the coordinator still has to answer
    assert (req["slot"]["start"], req["slot"]["end"]) == ("2028-02-16", "2028-04-15")
    assert assert_slots_valid(db, settings, start="2028-03-01", end="2028-09-30") == 2


def test_a_counter_proposal_inside_the_period_is_still_met(client, city, utility, coordinator, factory, settings,
                                                           db) -> None:  # noqa: ANN001
    y = _street(client, city, utility, coordinator)
    plan(client, coordinator, factory, settings, start="2028-01-01", end="2028-12-31")
    ok(client, utility, y, "contest", {"reason": "Erst im Oktober",
                                       "counter_proposal": {"earliest_start": "2028-10-01",
                                                            "latest_end": "2028-11-29"}})
    got = plan(client, coordinator, factory, settings, start="2028-03-01", end="2028-12-31")
    assert got["statistics"]["slots"]["proposed"] == 1, got["statistics"]
    slot = _slot(client, utility, y)
    assert (slot["start"], slot["end"]) == ("2028-10-01", "2028-11-29")
    assert slot["explanation"]["counter_proposal"]["met"] is True


def test_a_counter_proposal_without_a_fallback_is_not_reported_met() -> None:
    start = date(2028, 3, 1)
    built = adapter.Built(Problem([Task("a", 10, 0, 20, 0, 1, 0.0)], horizon=200), start, 200)
    built.info["a"] = adapter.TaskInfo(uuid.uuid4(), 1, "submitted", True, False, None)
    built.counter["a"] = adapter.CounterProposal(date(2028, 3, 1), date(2028, 3, 20), "window")
    adapter.fall_back(built, ["a"])  # left unplaced in the counter window, and nothing to fall back to
    assert counter_json(built.counter["a"])["met"] is False


def test_a_kept_slot_joins_the_problem_as_build_would_have_put_it() -> None:
    """The switch to the kept slot after the solve: fixed facts it overlaps are no constraints, a zone it would
    overload takes it only where there is room, and a precedence counts its real dates (it began before day 0)."""
    from service.scheduler import Conflict, Options, Precedence, Zone, check_plan, resolve, solve

    y = Task("y", 10, 50, 60, 50, 1, 1.0)  # in its counter window, which X holds
    tasks = [y, Task("x", 20, 55, 75, 55, 3, 0.0, fixed_start=55), Task("z", 5, 2, 7, 2, 1, 0.0, fixed_start=2),
             Task("m", 5, 0, 100, 0, 1, 2.0)]
    problem = Problem(tasks, conflicts=[Conflict(("x", "y")), Conflict(("y", "z")), Conflict(("m", "y"))],
                      zones=[Zone("zone:1", 1, {"y": 1, "z": 1, "m": 1})],
                      precedences=[Precedence("y", "m", 10, None, "after")], horizon=100)
    built = adapter.Built(problem, date(2028, 3, 1), 100)
    for tid in ("y", "m"):
        built.info[tid] = adapter.TaskInfo(uuid.uuid4(), 1, "contested", True, False, "proposed")
    # Y's slot: 25 February – 5 March, clipped to the period's first day
    built.counter["y"] = adapter.CounterProposal(date(2028, 4, 20), date(2028, 4, 30), "window",
                                                 kept=Task("y", 5, 0, 5, 0, 1, 1.0, fixed_start=0), slot_day=-5)
    options = Options(time_limit_s=5, num_workers=2, seed=1)
    first = solve(problem, options)
    assert "y" in first.unplaced
    switched = adapter.fall_back(built, ["y"])
    assert switched[0] == "y" and built.counter["y"].used == "kept" and built.info["y"].fixed
    assert built.skipped["y"] == adapter.SKIP_BEYOND and counter_json(built.counter["y"])["met"] is False
    again = resolve(built.problem, first, switched, options)
    assert check_plan(built.problem, again) == []
    assert again.starts["y"] == 0
    assert again.starts["m"] >= 7  # after Y's real end (day 5) and after Z, which fills the zone on days 2–6
    assert [p.min_lag for p in built.problem.precedences] == [5]
