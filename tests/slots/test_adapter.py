"""The adapter builds the right scheduler problem from stored requests, slots and conflict rules."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, box
from sqlalchemy import select

from service.conflicts.models import Blackout, Corridor, Moratorium, Zone
from service.slots import adapter, repository
from tests.conftest import site_body
from tests.slots.helpers import ESSEN, assert_slots_valid, plan

DAY0 = date(2027, 1, 1)
STREET = LineString([(7.0001, 51.4402), (7.0012, 51.4371)])


def _day(d: str) -> int:
    return (date.fromisoformat(d) - DAY0).days


def _build(db, settings):  # noqa: ANN001, ANN202
    return adapter.build(db, adapter.Scope(DAY0, date(2028, 12, 31), tuple(ESSEN)), settings)


def _rules(db, *, capacity_zone: int | None = None, corridor: int | None = None) -> None:  # noqa: ANN001
    area = from_shape(box(*ESSEN), srid=4326)
    db.add(Moratorium(name="Neu asphaltiert", start=date(2027, 6, 1), end=date(2027, 6, 30), geom=area))
    db.add(Blackout(name="Weihnachtsmarkt", start=date(2027, 12, 20), end=date(2028, 1, 6),
                    max_impact="lane_reduction"))
    if capacity_zone is not None:
        db.add(Zone(name="Rüttenscheid", capacity=capacity_zone, min_impact="lane_reduction", geom=area))
    if corridor is not None:
        db.add(Corridor(name="Rüttenscheider Straße", kind="arterial", buffer_m=25.0, max_concurrent=corridor,
                        min_impact="lane_reduction", geom=from_shape(STREET, srid=4326)))
    db.flush()


def test_windows_weights_fixed_slots_and_forbidden_periods(client, city, utility, make_caller, db, settings) -> None:  # noqa: ANN001
    _rules(db, capacity_zone=2)
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()  # sewer, full closure
    b = client.post("/v1/requests", json=site_body(kind="building", impact="lane_reduction", urgency="urgent",
                                                   preferred_start=None), headers=utility.headers).json()
    early = client.post("/v1/requests", json=site_body(earliest_start="2026-12-15", latest_end="2027-03-31",
                                                       duration_days=30, preferred_start=None,
                                                       impact="footway", kind="other"),
                        headers=utility.headers).json()
    repository.delete_slot(db, uuid.UUID(early["id"]))  # no slot yet: planned, its window clipped to the period
    late = client.post("/v1/requests", json=site_body(earliest_start="2028-12-01", latest_end="2029-06-30",
                                                      preferred_start=None), headers=utility.headers).json()
    other = make_caller("utility", "submitter", "Telekom")
    approved = client.post("/v1/requests", json=site_body(kind="telecom", impact="one_way"),
                           headers=other.headers).json()
    repository.put_slot(db, uuid.UUID(approved["id"]), start=date(2027, 2, 1), end=date(2027, 4, 1),
                        status="approved", provisional=False, explanation={}, unplaced=None, plan_id=None)
    locked = client.post("/v1/requests", json=site_body(kind="power", impact="lane_reduction",
                                                        earliest_start="2027-08-01", latest_end="2027-12-31",
                                                        preferred_start=None), headers=other.headers).json()
    repository.put_slot(db, uuid.UUID(locked["id"]), start=date(2027, 9, 1), end=date(2027, 10, 30),
                        status="locked", provisional=False, explanation={}, unplaced=None, plan_id=None)
    draft = client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers).json()

    built = _build(db, settings)
    tasks = built.problem.task_map()
    assert set(tasks) == {a["id"], b["id"], early["id"], approved["id"], locked["id"], late["id"]}
    assert built.skipped == {late["id"]: "the window does not fit into the plan period"}
    # skipped, but its provisional slot from 1 December 2028 holds the street: a fixed task
    assert tasks[late["id"]].fixed_start == _day("2028-12-01") and built.info[late["id"]].fixed
    assert draft["id"] not in tasks

    ta = tasks[a["id"]]
    assert (ta.earliest_start, ta.latest_end, ta.duration) == (_day("2027-03-01"), _day("2027-09-30") + 1, 60)
    assert ta.preferred == _day("2027-04-01") and ta.fixed_start is None
    assert ta.weight == 3  # planned × full closure
    assert {(f.start, f.end, f.label) for f in ta.forbidden} == {
        (_day("2027-06-01"), _day("2027-06-30") + 1, "moratorium:Neu asphaltiert"),
        (_day("2027-12-20"), _day("2028-01-06") + 1, "blackout:Weihnachtsmarkt"),
    }
    tb = tasks[b["id"]]
    assert tb.weight == 4 and tb.preferred == tb.earliest_start and tb.forbidden == ()  # not excavating, allowed
    assert ta.submitted == datetime.fromisoformat(a["created_at"]).timestamp()
    te = tasks[early["id"]]
    assert (te.earliest_start, te.latest_end) == (0, _day("2027-03-31") + 1)  # clipped to the plan period
    assert tasks[approved["id"]].fixed_start == _day("2027-02-01") and tasks[approved["id"]].duration == 60
    assert tasks[locked["id"]].fixed_start == _day("2027-09-01")

    pairs = {frozenset(c.tasks) for c in built.problem.conflicts}
    assert frozenset((a["id"], b["id"])) in pairs and frozenset((a["id"], approved["id"])) in pairs
    assert frozenset((approved["id"], locked["id"])) not in pairs  # both fixed: a fact, not a constraint
    assert all(len(c.tasks) == 2 for c in built.problem.conflicts)
    (zone,) = built.problem.zones
    assert zone.capacity == 2
    assert set(zone.demands) == {a["id"], b["id"], approved["id"], locked["id"], late["id"]}  # not the footway site


def test_a_late_period_keeps_the_slots_of_works_wanted_before_it(client, utility, db, settings) -> None:  # noqa: ANN001
    """A plan from 1 January 2027 neither pushes back a site wanted in December that holds a slot (it keeps
    it, as a fixed task) nor leaves out one wanted then that has none (placed from the period's first day)."""
    held = client.post("/v1/requests", json=site_body(earliest_start="2026-12-15", latest_end="2027-03-31",
                                                      duration_days=30, preferred_start=None),
                       headers=utility.headers).json()
    assert held["slot"]["start"] == "2026-12-15"
    elsewhere = {"type": "Point", "coordinates": [7.0090, 51.4310]}
    unslotted = client.post("/v1/requests", json=site_body(earliest_start="2026-12-01", latest_end="2027-03-31",
                                                           duration_days=20, preferred_start=None, impact="none",
                                                           geometry=elsewhere),
                            headers=utility.headers).json()
    repository.delete_slot(db, uuid.UUID(unslotted["id"]))

    built = _build(db, settings)
    tasks = built.problem.task_map()
    assert built.skipped == {held["id"]: "the preferred start lies before the plan period"}
    assert tasks[held["id"]].fixed_start == 0 and tasks[held["id"]].duration == 30 - 17  # clipped to 1 January
    assert tasks[unslotted["id"]].fixed_start is None and tasks[unslotted["id"]].earliest_start == 0


def test_no_plan_period_begins_before_today(client, utility, db, settings) -> None:  # noqa: ANN001
    """A plan asked to start before today starts today (2026-11-21 in the tests): no slot in the past."""
    req = client.post("/v1/requests", json=site_body(earliest_start="2026-06-01", latest_end="2027-03-31",
                                                     duration_days=30, preferred_start="2026-07-01"),
                      headers=utility.headers).json()
    built = adapter.build(db, adapter.Scope(date(2026, 6, 1), date(2027, 12, 31), tuple(ESSEN)), settings)
    assert built.day0 == date(2026, 11, 21)
    task = built.problem.task_map()[req["id"]]
    assert task.earliest_start == 0 and task.preferred == 0 and task.fixed_start is None


def test_corridor_of_one_site_at_a_time_is_a_clique_and_bundles(client, city, utility, make_caller, db,
                                                                  settings) -> None:  # noqa: ANN001
    _rules(db, corridor=1)
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    # bundle_with links works of one organisation (two organisations are bundled by the coordination office)
    b = client.post("/v1/requests", json=site_body(kind="gas", bundle_with=[a["id"]]), headers=city.headers).json()
    c = client.post("/v1/requests", json=site_body(kind="water"), headers=make_caller("utility").headers).json()
    built = _build(db, settings)
    cliques = [c_ for c_ in built.problem.conflicts if c_.label.startswith("corridor:")]
    assert [set(x.tasks) for x in cliques] == [{a["id"], b["id"], c["id"]}]
    assert [set(x.tasks) for x in built.problem.bundles] == [{a["id"], b["id"]}]


def test_plan_respects_moratorium_blackout_and_zone(client, city, utility, make_caller, coordinator, factory, db,
                                                     settings) -> None:  # noqa: ANN001
    _rules(db, capacity_zone=1)
    # prefers June: the moratorium forbids excavating then
    a = client.post("/v1/requests", json=site_body(preferred_start="2027-05-15", latest_end="2027-12-31"),
                    headers=city.headers).json()
    # not in conflict by distance (footway, 400 m away) but in the same capacity-1 zone
    far = {"type": "LineString", "coordinates": [[7.0001, 51.4330], [7.0012, 51.4320]]}
    b = client.post("/v1/requests", json=site_body(kind="building", impact="lane_reduction", geometry=far,
                                                   diversions=[], latest_end="2027-12-31"),
                    headers=utility.headers).json()
    got = plan(client, coordinator, factory, settings)
    assert got["status"] == "done" and got["statistics"]["zones"] == 1 and got["statistics"]["forbidden_periods"] >= 2
    slot_a = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    assert not (slot_a["start"] <= "2027-06-30" and slot_a["end"] >= "2027-06-01")
    assert any(x["kind"] == "forbidden" and x["ref"] == "moratorium:Neu asphaltiert"
               for x in slot_a["explanation"]["blockers"])
    slot_b = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]
    assert slot_b["end"] < slot_a["start"] or slot_a["end"] < slot_b["start"]  # the zone takes one at a time
    assert assert_slots_valid(db, settings) == 2


def test_provisional_slot_on_create_respects_moratorium_blackout_zone_and_corridor(client, city, utility, make_caller,
                                                                                    db) -> None:  # noqa: ANN001
    _rules(db, capacity_zone=1)
    # prefers 15 May for 60 days: the moratorium (June) forbids excavating then; 2 April (ends 31 May) is
    # closer to the preferred start than 1 July
    a = client.post("/v1/requests", json=site_body(preferred_start="2027-05-15", latest_end="2027-12-31"),
                    headers=city.headers).json()
    assert (a["slot"]["start"], a["slot"]["end"]) == ("2027-04-02", "2027-05-31")
    assert any(x["kind"] == "forbidden" and x["ref"] == "moratorium:Neu asphaltiert"
               for x in a["slot"]["explanation"]["blockers"])
    # 400 m away (no conflict by distance) but in the same capacity-1 zone: after a's slot
    far = {"type": "LineString", "coordinates": [[7.0001, 51.4330], [7.0012, 51.4320]]}
    b = client.post("/v1/requests", json=site_body(kind="building", impact="lane_reduction", geometry=far,
                                                   diversions=[], latest_end="2027-12-31", preferred_start=None),
                    headers=utility.headers).json()
    assert b["slot"] is not None
    assert b["slot"]["end"] < a["slot"]["start"] or a["slot"]["end"] < b["slot"]["start"]
    assert any(x["kind"] == "zone" for x in b["slot"]["explanation"]["blockers"]), b["slot"]["explanation"]
    # a full closure may not start during the Christmas market (blackout above lane reduction)
    c = client.post("/v1/requests", json=site_body(kind="other", impact="full_closure", geometry=far, diversions=[],
                                                   earliest_start="2027-12-01", latest_end="2028-03-31",
                                                   duration_days=10, preferred_start="2027-12-24"),
                    headers=make_caller("utility").headers).json()
    c_start, c_end = c["slot"]["start"], c["slot"]["end"]
    assert c_end < "2027-12-20" or c_start > "2028-01-06", c["slot"]


def test_provisional_slot_on_create_respects_a_one_at_a_time_corridor(client, city, utility, db) -> None:  # noqa: ANN001
    _rules(db, corridor=1)
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    # the same owner's works do not conflict by rule; the corridor allows one site at a time whoever owns it
    b = client.post("/v1/requests", json=site_body(kind="water", latest_end="2027-12-31"),
                    headers=city.headers).json()
    assert b["slot"]["end"] < a["slot"]["start"] or a["slot"]["end"] < b["slot"]["start"]


def test_explanations_name_the_corridor_and_the_requests_filling_a_zone(client, city, utility, coordinator, factory,
                                                                        db, settings) -> None:  # noqa: ANN001
    # two lane reductions at either end of Rüttenscheider Straße, about 300 m apart: no conflict by distance, but
    # the corridor allows one site at a time
    north = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0003, 51.4396]]}
    south = {"type": "LineString", "coordinates": [[7.0010, 51.4377], [7.0012, 51.4371]]}
    _rules(db, corridor=1)
    a = client.post("/v1/requests", json=site_body(impact="lane_reduction", geometry=north, diversions=[]),
                    headers=city.headers).json()
    b = client.post("/v1/requests", json=site_body(kind="gas", impact="lane_reduction", geometry=south,
                                                   diversions=[], urgency="planned"),
                    headers=utility.headers).json()
    corridor_id = str(db.scalar(select(Corridor.id)))
    # the provisional slot already names the corridor, not a conflict with a's site
    provisional = [(x["kind"], x["ref"], x.get("request_id")) for x in b["slot"]["explanation"]["blockers"]
                   if x["kind"] != "forbidden"]
    assert provisional and set(provisional) == {("corridor", f"corridor:{corridor_id}", a["id"])}, provisional
    built = _build(db, settings)
    assert not [c for c in built.problem.conflicts if not c.label.startswith("corridor:")]  # no pair by distance
    plan(client, coordinator, factory, settings)
    slots = {r["id"]: client.get(f"/v1/requests/{r['id']}", headers=city.headers).json()["slot"] for r in (a, b)}
    moved_id = max(slots, key=lambda k: slots[k]["explanation"]["deviation_days"])
    other = a["id"] if moved_id == b["id"] else b["id"]
    blockers = slots[moved_id]["explanation"]["blockers"]
    # (the moratorium of June may block some days too)
    assert {(x["kind"], x["ref"], x["request_id"]) for x in blockers if x["kind"] != "forbidden"} == {
        ("corridor", f"corridor:{corridor_id}", other)}
    summary = slots[moved_id]["explanation"]["summary"]
    assert "die Grenze von einer Baustelle zur Zeit auf einem Korridor" in summary["de"]
    assert "the one-site-at-a-time limit of a corridor" in summary["en"]


def test_zone_blockers_name_the_requests_that_fill_the_zone(client, city, utility, db) -> None:  # noqa: ANN001
    _rules(db, capacity_zone=1)
    a = client.post("/v1/requests", json=site_body(latest_end="2027-12-31"), headers=city.headers).json()
    far = {"type": "LineString", "coordinates": [[7.0001, 51.4330], [7.0012, 51.4320]]}
    b = client.post("/v1/requests", json=site_body(kind="building", impact="lane_reduction", geometry=far,
                                                   diversions=[], latest_end="2027-12-31"),
                    headers=utility.headers).json()
    zone_blockers = [x for x in b["slot"]["explanation"]["blockers"] if x["kind"] == "zone"]
    assert zone_blockers and all(x["request_ids"] == [a["id"]] for x in zone_blockers), zone_blockers
    assert "die Kapazität einer Zone" in b["slot"]["explanation"]["summary"]["de"]
    # unplaced: the zone is full over the whole window, and the request filling it is named as blocking
    tight = client.post("/v1/requests", json=site_body(kind="building", impact="lane_reduction", geometry=far,
                                                       diversions=[], earliest_start="2027-04-01",
                                                       latest_end="2027-05-30", duration_days=60),
                        headers=utility.headers).json()
    assert tight["slot"] is None
    assert tight["unplaced"]["blocking"] == [a["id"]], tight["unplaced"]
    assert tight["unplaced"]["reason"]["en"] == "No start in the window is free: blocked by the capacity of a zone."


def test_an_import_keeps_its_order_for_first_come_first_served(client, city, db, settings) -> None:  # noqa: ANN001
    # one call, one transaction: the sites still arrive one after another, in the file's order
    from service.scheduler.greedy import fcfs_order

    features = []
    for k in range(4):
        body = site_body(kind="other", impact="footway", title=f"Gehweg {k}")
        features.append({"type": "Feature", "geometry": body.pop("geometry"), "properties": body})
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": features},
                    headers=city.headers)
    assert r.status_code == 200 and r.json()["stored"] == 4, r.text
    ids = [x["id"] for x in r.json()["results"]]
    built = _build(db, settings)
    assert [t.id for t in fcfs_order(built.problem)] == ids
    submitted = [built.problem.task_map()[i].submitted for i in ids]
    assert submitted == sorted(set(submitted))
