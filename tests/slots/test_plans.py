"""Plan runs through the API, the worker entry point and the request representation, on real PostGIS."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from service.slots.models import PlanRun
from service.slots.service import claim_and_run
from tests.conftest import site_body
from tests.slots.helpers import assert_slots_valid, plan


def _days(slot: dict) -> tuple[date, date]:
    return date.fromisoformat(slot["start"]), date.fromisoformat(slot["end"])


def test_plan_places_conflicting_requests_of_two_owners_apart(client, city, utility, coordinator, factory,
                                                              settings, db) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    b = client.post("/v1/requests", json=site_body(kind="water", impact="lane_reduction"),
                    headers=utility.headers).json()
    got = plan(client, coordinator, factory, settings)
    assert got["status"] == "done", got["error"]
    assert got["progress"] == 1.0
    stats, fcfs = got["statistics"], got["fcfs"]
    assert stats["requests"] == 2 and stats["placed"] == 2 and stats["unplaced"] == 0
    assert stats["conflicts"] == 1 and stats["violations"] == 0
    assert fcfs["plan_better_or_equal"] is True
    assert fcfs["objective"]["unplaced_work"] >= stats["objective"]["unplaced_work"]

    slots = {}
    for req in (a, b):
        r = client.get(f"/v1/requests/{req['id']}", headers=coordinator.headers).json()
        assert r["status"] == "slot_proposed"
        assert r["unplaced"] is None
        slot = r["slot"]
        assert slot["status"] == "proposed" and slot["provisional"] is False and slot["plan_id"] == got["id"]
        start, end = _days(slot)
        assert (end - start).days + 1 == r["duration_days"] == 60
        assert date.fromisoformat(r["earliest_start"]) <= start and end <= date.fromisoformat(r["latest_end"])
        slots[req["id"]] = (start, end)
    (s1, e1), (s2, e2) = slots.values()
    assert e1 < s2 or e2 < s1, slots
    # the heavier full closure keeps its preferred start, the lane reduction moves and says why
    assert slots[a["id"]][0] == date(2027, 4, 1)
    moved = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]["explanation"]
    assert moved["deviation_days"] > 0
    assert {x["request_id"] for x in moved["blockers"] if x["kind"] == "conflict"} == {a["id"]}
    n = moved["deviation_days"]
    assert moved["summary"]["de"].startswith(f"{n} Tage später als gewünscht eingeplant")
    assert "einen Konflikt mit 1 Baustelle" in moved["summary"]["de"]
    assert moved["summary"]["en"].startswith(f"Placed {n} days later than preferred")
    placed = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]["explanation"]
    assert placed["summary"] == {"de": "Am gewünschten Beginn (01.04.2027) eingeplant.",
                                 "en": "Placed on the preferred start (1 Apr 2027)."}
    assert assert_slots_valid(db, settings) == 2


def test_same_owner_and_day_night_do_not_conflict(client, city, utility, coordinator, factory, settings) -> None:  # noqa: ANN001
    # the city's two day sites overlap only each other (same owner); the utility works at night
    ids = [client.post("/v1/requests", json=site_body(shift="day"), headers=city.headers).json()["id"]
           for _ in range(2)]
    ids.append(client.post("/v1/requests", json=site_body(shift="night"), headers=utility.headers).json()["id"])
    got = plan(client, coordinator, factory, settings)
    assert got["statistics"]["conflicts"] == 0
    starts = {client.get(f"/v1/requests/{rid}", headers=city.headers).json()["slot"]["start"] for rid in ids}
    assert starts == {"2027-04-01"}


def test_impossible_request_is_unplaced_with_blocking_ids(client, city, utility, coordinator, factory, settings,
                                                          db) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    plan(client, coordinator, factory, settings)
    assert client.post(f"/v1/requests/{a['id']}/slot/lock", headers=coordinator.headers).status_code == 200
    tight = site_body(kind="gas", earliest_start="2027-04-10", latest_end="2027-05-20", duration_days=30,
                      preferred_start="2027-04-10")
    b = client.post("/v1/requests", json=tight, headers=utility.headers).json()
    assert b["slot"] is None and b["unplaced"]["blocking"] == [a["id"]]  # the incremental placement says so too
    got = plan(client, coordinator, factory, settings)
    assert got["statistics"]["unplaced"] == 1 and got["statistics"]["fixed"] == 1
    r = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()
    assert r["slot"] is None
    assert r["unplaced"]["blocking"] == [a["id"]]
    assert r["unplaced"]["reason"]["de"].startswith("Kein Beginn im Zeitfenster ist frei: blockiert durch")
    assert r["unplaced"]["reason"]["en"] == "No start in the window is free: blocked by a conflict with 1 site."
    assert r["unplaced"]["nearest_feasible"]["latest_end"] > "2027-05-20"
    assert assert_slots_valid(db, settings) == 1


def test_locked_slot_does_not_move_in_a_rerun(client, city, utility, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(impact="footway", kind="telecom"), headers=city.headers).json()
    plan(client, coordinator, factory, settings)
    before = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    locked = client.post(f"/v1/requests/{a['id']}/slot/lock", headers=coordinator.headers)
    assert locked.status_code == 200 and locked.json()["slot"]["status"] == "locked"
    # an urgent full closure that wants exactly the same days, and outweighs the locked footway site
    b = client.post("/v1/requests", json=site_body(urgency="urgent"), headers=utility.headers).json()
    got = plan(client, coordinator, factory, settings)
    assert got["statistics"]["fixed"] == 1 and got["statistics"]["placed"] == 1
    after = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    assert (after["start"], after["end"], after["status"]) == (before["start"], before["end"], "locked")
    moved = client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]
    assert moved["start"] > after["end"] or moved["end"] < after["start"]
    assert assert_slots_valid(db, settings) == 2
    # unlocked, the next run may move it: the urgent closure takes its preferred days
    assert client.post(f"/v1/requests/{a['id']}/slot/unlock", headers=coordinator.headers).json()["slot"][
        "status"] == "proposed"
    history = client.get(f"/v1/requests/{a['id']}/history", headers=city.headers).json()
    assert [h["action"] for h in history][-2:] == ["slot.locked", "slot.unlocked"]
    assert history[-2]["actor"] == history[-1]["actor"] != history[0]["actor"]  # the coordinator, not the owner
    plan(client, coordinator, factory, settings)
    assert client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"]["start"] == "2027-04-01"
    assert assert_slots_valid(db, settings) == 2


def test_only_coordinators_plan_and_lock(client, city, coordinator) -> None:  # noqa: ANN001
    body = {"bbox": [6.99, 51.43, 7.01, 51.45], "from": "2027-01-01", "to": "2028-12-31"}
    assert client.post("/v1/plans", json=body, headers=city.headers).status_code == 403
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    assert client.post(f"/v1/requests/{a['id']}/slot/lock", headers=city.headers).status_code == 403
    bad = client.post("/v1/plans", json={**body, "to": "2026-12-31"}, headers=coordinator.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"
    both = client.post("/v1/plans", json={**body, "zone": "x"}, headers=coordinator.headers)
    assert both.status_code == 422
    assert client.get("/v1/plans/00000000-0000-0000-0000-000000000000", headers=city.headers).status_code == 404
    swapped = client.post("/v1/plans", json={**body, "bbox": [51.43, 6.99, 51.45, 7.01]}, headers=coordinator.headers)
    assert swapped.status_code == 422 and swapped.json()["errors"][0]["field"] == "bbox"
    assert "looks like lat/lon" in swapped.json()["detail"], "a plan of nothing would say 'done' with 0 requests"


def test_worker_claims_queued_plan(client, city, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    r = client.post("/v1/plans", json={"bbox": [6.99, 51.43, 7.01, 51.45], "from": "2027-01-01",
                                       "to": "2028-12-31"}, headers=coordinator.headers)
    assert claim_and_run(factory, settings) is not None
    assert client.get(f"/v1/plans/{r.json()['id']}", headers=coordinator.headers).json()["status"] == "done"
    assert claim_and_run(factory, settings) is None


def test_failed_run_records_the_error(client, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    from service.slots.service import run_plan

    run = PlanRun(status="queued", params={"bbox": None, "zone": None, "from": "2027-01-01", "to": "garbage"},
                  progress=0.0, stats={}, fcfs={})
    db.add(run)
    db.flush()
    assert run_plan(factory, run.id, settings) == "failed"
    got = client.get(f"/v1/plans/{run.id}", headers=coordinator.headers).json()
    assert got["status"] == "failed" and "garbage" in got["error"]


def test_plan_of_a_zone_deleted_after_queueing_fails_and_says_why(client, db, coordinator, factory,
                                                                    settings) -> None:  # noqa: ANN001
    from service.slots.service import run_plan

    zone = client.post("/v1/zones", headers=coordinator.headers, json={
        "name": "Innenstadt", "capacity": 2, "min_impact": "lane_reduction",
        "geometry": {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.01, 51.43], [7.01, 51.45],
                                                         [6.99, 51.45], [6.99, 51.43]]]}})
    assert zone.status_code == 201, zone.text
    queued = client.post("/v1/plans", json={"zone": zone.json()["id"], "from": "2027-01-01", "to": "2027-12-31"},
                         headers=coordinator.headers).json()
    assert client.delete(f"/v1/zones/{zone.json()['id']}", headers=coordinator.headers).status_code in (200, 204)
    assert run_plan(factory, queued["id"], settings) == "failed"
    got = client.get(f"/v1/plans/{queued['id']}", headers=coordinator.headers).json()
    assert got["status"] == "failed" and "was deleted after the plan was queued" in got["error"]


def test_incremental_slot_on_create(client, city, utility) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    assert a["slot"]["status"] == "proposed" and a["slot"]["provisional"] is True
    assert (a["slot"]["start"], a["slot"]["end"]) == ("2027-04-01", "2027-05-30")
    b = client.post("/v1/requests", json=site_body(kind="gas"), headers=utility.headers).json()
    sa, ea = _days(a["slot"])
    sb, eb = _days(b["slot"])
    assert (eb - sb).days + 1 == 60 and (eb < sa or ea < sb)
    assert b["slot"]["explanation"]["blockers"][0]["request_id"] == a["id"]
    assert b["status"] == "submitted"  # provisional: the request stays submitted until a plan run proposes
    draft = client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers).json()
    assert draft["slot"] is None and draft["unplaced"] is None
    withdrawn = client.delete(f"/v1/requests/{a['id']}", headers=city.headers).json()
    assert withdrawn["slot"] is None


def _running_run(db, started_minutes_ago: float, **params) -> PlanRun:  # noqa: ANN001, ANN003
    from datetime import UTC, datetime, timedelta

    run = PlanRun(status="running", params={"bbox": [6.99, 51.43, 7.01, 51.45], "zone": None, "from": "2027-01-01",
                                            "to": "2028-12-31"} | params, progress=0.4, stats={}, fcfs={},
                  started_at=datetime.now(UTC) - timedelta(minutes=started_minutes_ago))
    db.add(run)
    db.flush()
    return run


def test_run_of_a_dead_worker_is_requeued_and_then_run(client, city, coordinator, factory, settings, db) -> None:  # noqa: ANN001
    from service.slots.service import requeue_orphaned

    client.post("/v1/requests", json=site_body(), headers=city.headers)
    orphan = _running_run(db, started_minutes_ago=5)
    fresh = _running_run(db, started_minutes_ago=0)  # just claimed: its runner may not hold the lock yet
    assert requeue_orphaned(db, settings) == [orphan.id]
    db.flush()
    db.refresh(orphan)
    db.refresh(fresh)
    assert (orphan.status, orphan.progress, orphan.started_at, orphan.stats) == ("queued", 0.0, None, {"requeued": 1})
    assert fresh.status == "running"
    assert claim_and_run(factory, settings) == orphan.id
    assert client.get(f"/v1/plans/{orphan.id}", headers=coordinator.headers).json()["status"] == "done"


def test_run_whose_worker_is_alive_is_left_alone(engine, settings, db) -> None:  # noqa: ANN001
    from service.slots.service import requeue_orphaned

    run = _running_run(db, started_minutes_ago=30)
    with engine.connect() as other:  # another worker process, still solving this run
        other.execute(text("SELECT pg_advisory_lock(hashtextextended('baustellen.plan_run:' || :i, 0))"),
                      {"i": str(run.id)})
        assert requeue_orphaned(db, settings) == []
        other.execute(text("SELECT pg_advisory_unlock_all()"))
    db.refresh(run)
    assert run.status == "running"
    assert requeue_orphaned(db, settings) == [run.id]  # and once that worker is gone, it is requeued


def test_run_that_keeps_killing_its_worker_fails_after_two_requeues(settings, db) -> None:  # noqa: ANN001
    from datetime import UTC, datetime, timedelta

    from service.slots.service import MAX_REQUEUES, requeue_orphaned

    run = _running_run(db, started_minutes_ago=5)
    for attempt in range(MAX_REQUEUES):
        assert requeue_orphaned(db, settings) == [run.id]
        db.flush()
        db.refresh(run)
        assert run.status == "queued" and run.stats["requeued"] == attempt + 1
        run.status, run.started_at = "running", datetime.now(UTC) - timedelta(minutes=5)  # claimed, died again
        db.flush()
    assert requeue_orphaned(db, settings) == [run.id]
    db.flush()
    db.refresh(run)
    assert run.status == "failed" and "stopped 3 times" in run.error


def test_full_plan_refreshes_the_stored_conflicts_of_the_slots_it_moves(client, city, coordinator, factory,
                                                                        settings) -> None:  # noqa: ANN001
    a = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    assert (a["slot"]["start"], a["slot"]["end"]) == ("2027-04-01", "2027-05-30")
    # a moratorium decided after the slot was placed: the provisional slot now breaks it
    area = {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.01, 51.43], [7.01, 51.45], [6.99, 51.45],
                                                [6.99, 51.43]]]}
    r = client.post("/v1/moratoriums", json={"name": "Neu asphaltiert", "geometry": area, "start": "2027-03-01",
                                              "end": "2027-05-31"}, headers=coordinator.headers)
    assert r.status_code == 201, r.text

    def moratorium_conflicts() -> list:
        got = client.get("/v1/conflicts", params={"kind": "moratorium"}, headers=city.headers)
        assert got.status_code == 200, got.text
        return got.json()["features"]

    assert len(moratorium_conflicts()) == 1
    plan(client, coordinator, factory, settings)
    slot = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    assert slot["start"] == "2027-06-01"
    assert "das Aufbruchverbot „Neu asphaltiert“" in slot["explanation"]["summary"]["de"]
    assert moratorium_conflicts() == []


def test_plan_for_a_shorter_period_reports_the_owners_preferred_start(client, city, utility, coordinator, factory,
                                                                      settings) -> None:  # noqa: ANN001
    # wanted from 1 August for 60 days, may run until the end of the year: a plan until 10 August does not
    # squeeze it into its period (or take its slot away when the period is full); it keeps its slot
    a = client.post("/v1/requests", json=site_body(preferred_start="2027-08-01"), headers=city.headers).json()
    kept = a["slot"]
    got = plan(client, coordinator, factory, settings, start="2027-01-01", end="2027-08-10")
    assert got["statistics"]["skipped_requests"][a["id"]] == "the window reaches beyond the plan period"
    slot = client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["slot"]
    assert (slot["start"], slot["end"]) == (kept["start"], kept["end"]) == ("2027-08-01", "2027-09-29")
    assert slot["explanation"]["preferred_start"] == "2027-08-01"
    # wanted after the plan period: left out of the plan, its provisional slot kept as it was
    b = client.post("/v1/requests", json=site_body(kind="gas", preferred_start="2027-09-01",
                                                   earliest_start="2027-05-01", latest_end="2027-12-31"),
                    headers=utility.headers).json()
    before = b["slot"]
    got = plan(client, coordinator, factory, settings, start="2027-01-01", end="2027-07-31")
    assert got["statistics"]["skipped"] >= 1
    assert client.get(f"/v1/requests/{b['id']}", headers=utility.headers).json()["slot"] == before


def test_a_proposal_the_plan_cannot_keep_goes_back_to_the_coordinators_queue(client, db, city, utility, coordinator,  # noqa: ANN001
                                                                              factory, settings) -> None:
    from tests.workflow.flow import act, create, d, ok

    b = create(client, utility, kind="gas", latest_end=d(19))["id"]  # 10 days within d(0)..d(19)
    ok(client, coordinator, b, "propose", {"start": d(5)})
    a = create(client, city, duration_days=20)["id"]
    ok(client, coordinator, a, "approve", {"start": d(0), "override": True})  # takes all of b's window
    plan(client, coordinator, factory, settings, start=d(0), end=d(89))
    got = client.get(f"/v1/requests/{b}", headers=utility.headers).json()
    assert got["slot"] is None and got["unplaced"] is not None
    assert got["status"] == "submitted", "no proposal is left for the owner to answer"
    assert got["deadline"] is None
    refused = act(client, utility, b, "accept")
    assert refused.status_code == 409 and refused.json()["status_now"] == "submitted"


def test_a_request_without_a_slot_cannot_be_accepted(client, db, city, coordinator) -> None:  # noqa: ANN001
    from service.slots.repository import put_slot
    from tests.workflow.flow import act, create, d, ok

    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(5)})
    put_slot(db, rid, start=None, end=None, status="unplaced")  # however it lost it
    r = act(client, city, rid, "accept")
    assert r.status_code == 409 and r.json()["type"].endswith("/no-slot"), r.text


def test_locking_a_slot_that_moved_since_it_was_read_is_412(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import create, d, ok

    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    seen = client.get(url, headers=coordinator.headers).headers["etag"]
    ok(client, coordinator, rid, "propose", {"start": d(30)})
    stale = client.post(f"{url}/slot/lock", headers={**coordinator.headers, "If-Match": seen})
    assert stale.status_code == 412, stale.text
    now = client.get(url, headers=coordinator.headers).headers["etag"]
    locked = client.post(f"{url}/slot/lock", headers={**coordinator.headers, "If-Match": now})
    assert locked.status_code == 200 and locked.json()["slot"]["status"] == "locked"
