"""A plan run's statistics count one population at a time: the movable requests the plan decides on (requests,
placed, unplaced, the objective, the FCFS comparison) and, apart, the fixed slots it only works around, whose
dates may reach far beyond the plan period."""

from __future__ import annotations

import uuid
from datetime import date

from service.slots import repository
from service.slots.adapter import weight_of
from tests.conftest import site_body
from tests.slots.helpers import plan

# ~550 m north of site_body's street: no conflict with it, inside the Essen bbox of the plans
ELSEWHERE = {"type": "LineString", "coordinates": [[7.0001, 51.4452], [7.0012, 51.4421]]}


def _locked_month(client, caller, db) -> dict:  # noqa: ANN001
    """A full closure locked for all of March 2027 (31 days)."""
    got = client.post("/v1/requests", json=site_body(earliest_start="2027-03-01", latest_end="2027-03-31",
                                                     duration_days=31, preferred_start=None),
                      headers=caller.headers).json()
    repository.put_slot(db, uuid.UUID(got["id"]), start=date(2027, 3, 1), end=date(2027, 3, 31), status="locked",
                        provisional=False, explanation={}, unplaced=None, plan_id=None)
    db.flush()
    return got


def test_a_short_plan_counts_the_fixed_slots_apart_from_what_it_places(client, city, utility, coordinator, factory,
                                                                      db, settings) -> None:  # noqa: ANN001
    _locked_month(client, city, db)
    one_day = client.post("/v1/requests", json=site_body(kind="gas", impact="lane_reduction", geometry=ELSEWHERE,
                                                         earliest_start="2027-03-01", latest_end="2027-03-02",
                                                         duration_days=1, preferred_start="2027-03-02"),
                          headers=utility.headers).json()
    got = plan(client, coordinator, factory, settings, start="2027-03-01", end="2027-03-02")
    assert got["status"] == "done", got["error"]
    stats, fcfs = got["statistics"], got["fcfs"]
    assert stats["horizon_days"] == 2
    assert (stats["requests"], stats["placed"], stats["unplaced"]) == (1, 1, 0)
    assert (stats["fixed"], stats["fixed_in_scope"], stats["context"]) == (1, 1, 0)
    # the objective is about the one movable request: one day's work, ending inside the two days
    work = weight_of("planned", "lane_reduction")
    assert stats["objective"]["placed_work"] == work
    assert stats["objective"]["makespan"] == 2 and stats["placed_until"] == "2027-03-02"
    assert stats["objective"]["unplaced_work"] == 0 and stats["objective"]["unplaced_count"] == 0
    # the scheduler's own figures include the locked month (clipped to start on day 0, not at the end)
    everything = stats["objective_all_tasks"]
    assert everything["placed_work"] == work + 31 * weight_of("planned", "full_closure")
    assert everything["makespan"] == 31
    # FCFS over the same population
    assert (fcfs["placed"], fcfs["unplaced"]) == (1, 0)
    assert fcfs["objective"]["placed_work"] == work and fcfs["objective"]["makespan"] <= 2
    assert fcfs["objective_all_tasks"]["makespan"] == 31
    slot = client.get(f"/v1/requests/{one_day['id']}", headers=utility.headers).json()["slot"]
    assert slot["start"] == "2027-03-02"


def test_a_plan_with_nothing_to_move_places_no_work(client, city, coordinator, factory, db, settings) -> None:  # noqa: ANN001
    _locked_month(client, city, db)
    got = plan(client, coordinator, factory, settings, start="2027-03-01", end="2027-03-02")
    assert got["status"] == "done", got["error"]
    stats = got["statistics"]
    assert (stats["requests"], stats["placed"], stats["fixed"]) == (0, 0, 1)
    assert (stats["objective"]["placed_work"], stats["objective"]["makespan"], stats["placed_until"]) == (0, 0, None)
    assert stats["objective_all_tasks"]["placed_work"] > 0
