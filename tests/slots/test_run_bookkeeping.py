"""The bookkeeping of a plan run: what a failed run tells any key, the requeue count after the run finished,
progress during the write, a zone id in upper case, locking an unplaced request, the CLI's summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from service.slots.models import PlanRun
from service.slots.service import claim_and_run, requeue_orphaned, run_plan
from tests.conftest import site_body
from tests.slots.helpers import ESSEN, plan

AREA = {"type": "Polygon", "coordinates": [[[6.99, 51.43], [7.01, 51.43], [7.01, 51.45], [6.99, 51.45],
                                            [6.99, 51.43]]]}


def test_a_failed_run_says_what_failed_in_one_line_without_a_traceback(client, coordinator, factory, settings,
                                                                        db) -> None:  # noqa: ANN001
    run = PlanRun(status="queued", params={"bbox": None, "zone": None, "from": "2027-01-01", "to": "garbage"},
                  progress=0.0, stats={}, fcfs={})
    db.add(run)
    db.flush()
    assert run_plan(factory, run.id, settings) == "failed"
    error = client.get(f"/v1/plans/{run.id}", headers=coordinator.headers).json()["error"]
    assert error.startswith("ValueError: ") and "garbage" in error
    assert "\n" not in error and "Traceback" not in error and ".py" not in error, error


def test_a_requeued_run_keeps_its_requeue_count_when_it_is_done(client, city, coordinator, factory, settings,
                                                                 db) -> None:  # noqa: ANN001
    client.post("/v1/requests", json=site_body(), headers=city.headers)
    orphan = PlanRun(status="running", params={"bbox": ESSEN, "zone": None, "from": "2027-01-01", "to": "2028-12-31"},
                     progress=0.4, stats={}, fcfs={}, started_at=datetime.now(UTC) - timedelta(minutes=5))
    db.add(orphan)
    db.flush()
    assert requeue_orphaned(db, settings) == [orphan.id]
    db.flush()
    assert claim_and_run(factory, settings) == orphan.id
    got = client.get(f"/v1/plans/{orphan.id}", headers=coordinator.headers).json()
    assert got["status"] == "done" and got["statistics"]["requests"] == 1
    assert got["statistics"]["requeued"] == 1


def test_progress_is_reported_while_the_slots_are_written(client, city, utility, coordinator, factory,
                                                          settings) -> None:  # noqa: ANN001
    for caller in (city, utility):
        client.post("/v1/requests", json=site_body(kind="water" if caller is utility else "sewer"),
                    headers=caller.headers)
    r = client.post("/v1/plans", json={"bbox": ESSEN, "from": "2027-01-01", "to": "2028-12-31"},
                    headers=coordinator.headers)
    seen: list[float] = []
    assert run_plan(factory, r.json()["id"], settings, on_progress=seen.append) == "done"
    assert any(0.9 < p < 1.0 for p in seen), seen  # the write phase moves the bar on


def test_a_zone_id_in_upper_case_names_the_zone(client, coordinator) -> None:  # noqa: ANN001
    zone = client.post("/v1/zones", headers=coordinator.headers, json={
        "name": "Innenstadt", "capacity": 2, "min_impact": "lane_reduction", "geometry": AREA}).json()["id"]
    r = client.post("/v1/plans", json={"zone": zone.upper(), "from": "2027-01-01", "to": "2027-12-31"},
                    headers=coordinator.headers)
    assert r.status_code == 202, r.text
    assert r.json()["params"]["zone"] == zone
    unknown = client.post("/v1/plans", json={"zone": "nowhere", "from": "2027-01-01", "to": "2027-12-31"},
                          headers=coordinator.headers)
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "zone"


def test_locking_an_unplaced_request_says_it_is_unplaced_and_why(client, city, utility, coordinator, factory,
                                                                   settings) -> None:  # noqa: ANN001
    from tests.workflow.flow import create, d, ok

    b = create(client, utility, kind="gas", latest_end=d(19))["id"]  # 10 days within d(0)..d(19)
    a = create(client, city, duration_days=20)["id"]
    ok(client, coordinator, a, "approve", {"start": d(0), "override": True})  # takes all of b's window
    plan(client, coordinator, factory, settings, start=d(0), end=d(89))
    got = client.get(f"/v1/requests/{b}", headers=coordinator.headers).json()
    assert got["slot"] is None and got["unplaced"] is not None
    r = client.post(f"/v1/requests/{b}/slot/lock", headers=coordinator.headers)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "unplaced" in detail and "run a plan first" not in detail, detail
    assert got["unplaced"]["reason"]["en"].rstrip(".") in detail
    assert r.json()["reason"] == got["unplaced"]["reason"]


def test_the_cli_summary_says_when_from_was_moved_to_today(capsys) -> None:  # noqa: ANN001
    from service.slots.cli import _print

    run = SimpleNamespace(id="p1", status="failed", error="ValueError: x",
                          params={"from": "2026-11-21", "to": "2027-12-31", "from_requested": "2026-01-01"})
    _print(run)
    out = " ".join(capsys.readouterr().out.split())
    assert "--from 2026-01-01 lies in the past: the plan starts today, 2026-11-21." in out, out
