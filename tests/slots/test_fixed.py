"""Slots a plan run may not move, and capacity that fixed slots already use up."""

from __future__ import annotations

import uuid
from datetime import date

from geoalchemy2.shape import from_shape
from shapely.geometry import box

from service.conflicts.models import Zone
from service.slots import repository
from tests.conftest import site_body
from tests.slots.helpers import ESSEN, assert_slots_valid, plan


def test_a_skipped_request_with_a_slot_is_kept_as_a_fixed_task(client, city, utility, coordinator, factory, db,
                                                               settings) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(impact="lane_reduction", earliest_start="2027-03-26",
                                                   latest_end="2027-03-30", duration_days=5, preferred_start=None),
                    headers=city.headers).json()
    assert (a["slot"]["start"], a["slot"]["end"]) == ("2027-03-26", "2027-03-30")
    b = client.post("/v1/requests", json=site_body(kind="gas", impact="lane_reduction", earliest_start="2027-03-28",
                                                   latest_end="2027-04-05", duration_days=3,
                                                   preferred_start="2027-03-28"),
                    headers=utility.headers).json()
    assert (b["slot"]["start"], b["slot"]["end"]) == ("2027-03-31", "2027-04-02")
    # A's window does not fit a plan from 28 March: A is skipped, but its slot still holds the street
    got = plan(client, coordinator, factory, settings, start="2027-03-28", end="2027-10-31")
    assert got["status"] == "done", got["error"]
    assert got["statistics"]["skipped"] == 1 and a["id"] in got["statistics"]["skipped_requests"]
    assert got["statistics"]["fixed"] == 1
    slot_a = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    slot_b = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]
    assert (slot_a["start"], slot_a["end"]) == ("2027-03-26", "2027-03-30")
    assert slot_b["start"] > slot_a["end"], slot_b
    assert assert_slots_valid(db, settings, start="2027-03-28", end="2027-10-31") == 2


def _overloaded_zone(client, make_caller, db) -> None:  # noqa: ANN001
    """A zone of capacity 1 with two locked full closures in March 2028 (a fact the plan must live with)."""
    db.add(Zone(name="Rüttenscheid", capacity=1, min_impact="lane_reduction", geom=from_shape(box(*ESSEN), srid=4326)))
    db.flush()
    for caller in (make_caller("utility"), make_caller("utility")):
        fixed = client.post("/v1/requests", json=site_body(earliest_start="2028-03-01", latest_end="2028-03-31",
                                                           duration_days=31, preferred_start=None),
                            headers=caller.headers).json()
        repository.put_slot(db, uuid.UUID(fixed["id"]), start=date(2028, 3, 1), end=date(2028, 3, 31),
                            status="locked", provisional=False, explanation={}, unplaced=None, plan_id=None)


def test_fixed_slots_overloading_a_zone_do_not_raise_its_capacity_elsewhere(client, utility, make_caller, coordinator,
                                                                            factory, db, settings) -> None:  # noqa: ANN001
    _overloaded_zone(client, make_caller, db)
    # one owner's two closures (no conflict with each other): the zone takes one at a time
    new = [client.post("/v1/requests", json=site_body(kind="water", earliest_start="2028-06-01",
                                                      latest_end="2028-06-30", duration_days=30,
                                                      preferred_start=None), headers=utility.headers).json()["id"]
           for _ in range(2)]
    got = plan(client, coordinator, factory, settings)
    assert got["status"] == "done", got["error"]
    assert got["statistics"]["placed"] == 1 and got["statistics"]["unplaced"] == 1
    slots = [client.get(f"/v1/requests/{rid}", headers=utility.headers).json()["slot"] for rid in new]
    assert sorted(s is None for s in slots) == [False, True]
    assert assert_slots_valid(db, settings) == 3  # the two locked slots and one new one


def test_incremental_placement_keeps_an_overloaded_zone_closed_while_it_is_full(client, utility, make_caller,
                                                                                  db) -> None:  # noqa: ANN001
    _overloaded_zone(client, make_caller, db)
    # 400 m away (no conflict by distance), same zone: March is full, so April is the closest free start
    far = {"type": "LineString", "coordinates": [[7.0001, 51.4330], [7.0012, 51.4320]]}
    r = client.post("/v1/requests", json=site_body(kind="water", geometry=far, diversions=[],
                                                   earliest_start="2028-02-01", latest_end="2028-06-30",
                                                   duration_days=30, preferred_start="2028-03-01"),
                    headers=utility.headers).json()
    assert (r["slot"]["start"], r["slot"]["end"]) == ("2028-04-01", "2028-04-30"), r["slot"]
    # March is full, and outside the days the locked slots overload it the zone's capacity stays 1: no room
    s = client.post("/v1/requests", json=site_body(kind="gas", geometry=far, diversions=[],
                                                   earliest_start="2028-03-01", latest_end="2028-04-30",
                                                   duration_days=30, preferred_start=None),
                    headers=utility.headers).json()
    assert s["slot"] is None, s["slot"]
