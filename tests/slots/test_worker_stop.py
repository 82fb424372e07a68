"""A worker asked to stop (SIGTERM from `docker stop` or systemd, which send SIGKILL some 10 s later) ends a plan run
in progress at once: CP-SAT stops its search, nothing of the run is written, and the run is `queued` again so that
the next worker start runs it (the coordinator's request is not lost)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import service as auth
from service.kit.db import make_sessionmaker, session_scope
from service.requests.models import SiteRequest
from service.settings import Settings
from service.slots.models import PlanRun, Slot
from service.slots.service import run_plan
from tests.conftest import site_body
from tests.slots.helpers import ESSEN

ROOT = Path(__file__).resolve().parents[2]


def written(session: Session) -> set[tuple]:
    """What a plan run writes: the slots and the requests' versions and states."""
    slots = session.execute(select(Slot.request_id, Slot.start, Slot.end, Slot.status, Slot.plan_id)).all()
    requests = session.execute(select(SiteRequest.id, SiteRequest.version, SiteRequest.status)).all()
    return {tuple(r) for r in slots} | {tuple(r) for r in requests}


def test_sigterm_stops_a_worker_in_a_long_plan_run_at_once_and_queues_the_run_again(
        clean_database: Engine, settings: Settings, database_url: str, tmp_path: Path) -> None:
    # 20 sites of 20 organisations on one street, all clashing, in one year they cannot all fit in: CP-SAT is busy
    # for most of a generous time limit (about 45 s of 60 s measured), far longer than a deploy may wait
    rng = random.Random(7)
    with session_scope(make_sessionmaker(clean_database, settings)) as session:
        keys = []
        for kind, role in [("utility", "submitter")] * 20 + [("coordinator", "coordinator")]:
            org = auth.create_organisation(session, name=f"{kind} {uuid.uuid4().hex[:6]}", kind=kind)
            keys.append({"Authorization": f"Bearer {auth.create_key(session, org_id=org.id, role=role)[1]}"})
    with TestClient(create_app(settings)) as client:
        for headers in keys[:-1]:
            body = site_body(duration_days=rng.randint(10, 60), earliest_start="2027-01-04", latest_end="2027-12-31",
                             preferred_start=f"2027-{rng.randint(1, 9):02d}-{rng.randint(1, 28):02d}",
                             impact=rng.choice(["full_closure", "lane_reduction", "one_way"]))
            assert client.post("/v1/requests", json=body, headers=headers).status_code == 201
        r = client.post("/v1/plans", json={"bbox": ESSEN, "from": "2027-01-01", "to": "2027-12-31"}, headers=keys[-1])
        assert r.status_code == 202, r.text
        plan_id = uuid.UUID(r.json()["id"])
    with Session(clean_database) as session:
        before = written(session)

    def run() -> PlanRun:
        with Session(clean_database) as session:
            got = session.get(PlanRun, plan_id)
            assert got is not None
            return got

    env = {**os.environ, "BAUSTELLEN_DATABASE_URL": database_url, "BAUSTELLEN_WORKER_POLL_SECONDS": "0.5",
           "BAUSTELLEN_SOLVER_TIME_LIMIT_S": "120"}
    log = tmp_path / "worker.log"
    with log.open("w") as fh:
        proc = subprocess.Popen([sys.executable, "-c", "from service.cli import app; app()", "worker"], cwd=ROOT,
                                env=env, stdout=fh, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while not (run().status == "running" and run().progress >= 0.1):  # built: solving now
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            time.sleep(1.5)  # well inside the CP-SAT search
            assert run().status == "running" and run().progress < 0.9, "the solve ended already: too easy"
            sent = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the worker still runs 10 s after SIGTERM:\n{log.read_text()}") from None
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    out = log.read_text()
    assert proc.returncode == 0, out
    assert took < 5.0, (took, out)
    assert f"plan run {plan_id} interrupted: the worker is stopping; queued again" in out, out
    assert "Traceback" not in out, out
    stopped = run()
    assert (stopped.status, stopped.progress, stopped.started_at, stopped.error) == ("queued", 0.0, None, None)
    assert "requeued" not in (stopped.stats or {})  # a stop is no crash: it does not count toward failing the run
    with Session(clean_database) as session:
        assert written(session) == before  # nothing of the interrupted run was committed


def test_a_stop_during_the_write_rolls_the_slots_back_and_queues_the_run_again(client, make_caller, coordinator,
                                                                                factory, settings, db) -> None:  # noqa: ANN001
    for _ in range(2):  # two organisations' sites on one spot, windows with room for one: one is left unplaced
        body = site_body(earliest_start="2027-03-01", latest_end="2027-04-29", duration_days=60, preferred_start=None)
        assert client.post("/v1/requests", json=body, headers=make_caller("utility").headers).status_code == 201
    r = client.post("/v1/plans", json={"bbox": ESSEN, "from": "2027-01-01", "to": "2027-12-31"},
                    headers=coordinator.headers)
    plan_id = r.json()["id"]
    before = written(db)
    stop = threading.Event()

    def progress(value: float) -> None:
        if value > 0.9:  # the slots are written (not committed): the worker is told to stop now
            stop.set()

    assert run_plan(factory, plan_id, settings, on_progress=progress, stop=stop) == "queued"
    db.expire_all()
    assert written(db) == before
    got = client.get(f"/v1/plans/{plan_id}", headers=coordinator.headers).json()
    assert (got["status"], got["progress"], got["started_at"], got["error"]) == ("queued", 0.0, None, None)
    stop.clear()
    assert run_plan(factory, plan_id, settings) == "done"  # the next worker runs it from the start
    db.expire_all()
    assert written(db) != before
