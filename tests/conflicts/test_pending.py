"""A request or rule changed while a full refresh runs: the change commits at once (no waiting, no deadlock), is
queued in ``conflicts_pending``, ``GET /v1/conflicts`` says stale, and the worker's drain makes the stored conflicts
equal to a fresh full refresh. Real PostgreSQL, committed data, several connections at once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.app import create_app
from service.auth import service as auth
from service.cli import app as cli
from service.conflicts import jobs, repository, service
from service.conflicts.models import Conflict, ConflictPending
from service.kit.db import make_sessionmaker, session_scope
from service.settings import Settings
from service.slots import service as slots_service
from service.worker import WorkerContext
from tests.conflicts.helpers import box, fixed, line
from tests.conftest import site_body

# A statement of the API that waits for a lock longer than this fails the test instead of hanging it.
API_LOCK_TIMEOUT_MS = 3000


@pytest.fixture
def factory(clean_database: Engine, settings: Settings) -> sessionmaker[Session]:
    return make_sessionmaker(clean_database, settings)


@contextmanager
def api(settings: Settings) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    """The app on committed data, its sessions giving up after ``API_LOCK_TIMEOUT_MS`` of waiting for a lock; with
    the keys of a city, a utility and the coordination office."""
    engine = create_engine(settings.database_url, connect_args={
        "options": f"-c timezone=UTC -c lock_timeout={API_LOCK_TIMEOUT_MS} -c statement_timeout=20000"})
    keys = {}
    with session_scope(make_sessionmaker(engine, settings)) as session:
        for kind, role in (("city", "submitter"), ("utility", "submitter"), ("coordinator", "coordinator")):
            org = auth.create_organisation(session, name=f"{kind} {uuid.uuid4().hex[:6]}", kind=kind)
            keys[kind] = {"Authorization": f"Bearer {auth.create_key(session, org_id=org.id, role=role)[1]}"}
    try:
        with TestClient(create_app(settings)) as client:
            client.app.state.sessionmaker = make_sessionmaker(engine, settings)  # type: ignore[attr-defined]
            yield client, keys
    finally:
        engine.dispose()


def post(client: TestClient, headers: dict[str, str], **overrides: Any) -> uuid.UUID:
    r = client.post("/v1/requests", json=site_body(**fixed(**overrides)), headers=headers)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def stored(session: Session) -> set[tuple]:
    return set(session.execute(select(Conflict.request_a, Conflict.request_b, Conflict.kind, Conflict.overlap_start,
                                      Conflict.overlap_end)).all())


def stored_count(session: Session) -> int:
    return len(session.execute(select(Conflict.id)).all())


def fresh(factory: sessionmaker[Session], settings: Settings) -> set[tuple]:
    """What a full refresh stores now (rolled back: nothing changes)."""
    session = factory()
    try:
        service.refresh_all(session, settings=settings)
        return stored(session)
    finally:
        session.rollback()
        session.close()


def settle(factory: sessionmaker[Session], settings: Settings) -> None:
    """One committed full refresh: the emptied database records the rules revision again (not stale)."""
    with session_scope(factory) as session:
        service.refresh_all(session, settings=settings)


def queued(factory: sessionmaker[Session]) -> set[tuple[str, uuid.UUID]]:
    with session_scope(factory) as session:
        return set(session.execute(select(ConflictPending.kind, ConflictPending.target_id)).all())


def page(client: TestClient, keys: dict[str, dict[str, str]]) -> dict[str, Any]:
    r = client.get("/v1/conflicts", headers=keys["coordinator"])
    assert r.status_code == 200, r.text
    return r.json()


def waiting_advisory_locks(session: Session) -> int:
    return session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))


def test_a_request_changed_while_a_full_refresh_computes_is_queued_and_recomputed_after(
        factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """The stale-row case: the full refresh has read the request's old state and not yet written its rows when the
    request moves away. Waiting for the refresh would store nothing better (the refresh's rows come after the change
    committed), so without the queue the moved request keeps its old conflict."""
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        b = post(client, keys["utility"], geometry=line(0, 35), kind="water")
        post(client, keys["utility"], geometry=line(3000, 3000), kind="gas")
        pair = (*sorted((a, b)), "space")
        settle(factory, settings)
        with session_scope(factory) as session:
            assert {r[:3] for r in stored(session)} == {pair}
        assert (page(client, keys)["stale"], page(client, keys)["pending"]) == (False, 0)

        # a full refresh that pauses after computing, before its first insert (holding its lock, the old rows gone)
        computed, go = threading.Event(), threading.Event()
        real_insert = repository.insert_conflicts
        refresher: list[int] = []

        def paused_insert(session: Session, rows: Any) -> int:
            if threading.get_ident() in refresher and not computed.is_set():
                computed.set()
                assert go.wait(30)
            return real_insert(session, rows)

        monkeypatch.setattr(repository, "insert_conflicts", paused_insert)
        errors: list[BaseException] = []

        def full_refresh() -> None:
            refresher.append(threading.get_ident())
            try:
                with session_scope(factory) as session:
                    service.refresh_all(session, settings=settings)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        thread = threading.Thread(target=full_refresh)
        thread.start()
        try:
            assert computed.wait(30), errors
            started = time.monotonic()
            r = client.patch(f"/v1/requests/{b}", json={"geometry": line(2000, 2000)},
                             headers={**keys["utility"], "If-Match": '"v1"'})
            assert r.status_code == 200, r.text
            assert time.monotonic() - started < API_LOCK_TIMEOUT_MS / 1000, "the change waited for the refresh"
            assert ("request", b) in queued(factory)
            listed = page(client, keys)
            assert listed["stale"] is True and listed["pending"] >= 1
        finally:
            go.set()
            thread.join(60)
        assert not thread.is_alive() and errors == []

        with session_scope(factory) as session:
            # the refresh stored what it had computed from b's old place: the stale row this is about
            assert pair in {r[:3] for r in stored(session)}
        expected = fresh(factory, settings)
        assert pair not in {r[:3] for r in expected}

        drained = jobs.drain_pending(WorkerContext(settings=settings, sessionmaker=factory))

        assert drained.done >= 1 and drained.left == 0 and not drained.stopped
        with session_scope(factory) as session:
            assert stored(session) == expected
            assert stored_count(session) == len(expected)  # no row twice
        assert queued(factory) == set()
        listed = page(client, keys)
        assert (listed["stale"], listed["pending"]) == (False, 0)


def test_a_rule_changed_while_a_full_refresh_holds_its_lock_is_queued(factory, settings) -> None:  # noqa: ANN001
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        b = post(client, keys["utility"], geometry=line(500, 0), kind="water")
        zone = client.post("/v1/zones", headers=keys["coordinator"], json={
            "name": "Innenstadt", "capacity": 2, "min_impact": "lane_reduction", "geometry": box(-100, -100, 700, 100)})
        assert zone.status_code == 201, zone.text
        zid = uuid.UUID(zone.json()["id"])
        settle(factory, settings)
        with session_scope(factory) as session:
            assert {r[2] for r in stored(session)} == set()  # 500 m apart, two sites in a zone for two

        holder = factory()  # a full refresh elsewhere: its lock, held until its transaction ends
        try:
            repository.lock_full_refresh(holder, wait=True)
            started = time.monotonic()
            r = client.patch(f"/v1/zones/{zid}", json={"capacity": 1}, headers=keys["coordinator"])
            assert r.status_code == 200, r.text
            assert time.monotonic() - started < API_LOCK_TIMEOUT_MS / 1000
            assert queued(factory) == {("zone", zid)}
            with session_scope(factory) as session:
                assert stored(session) == set()  # the change did not touch the conflicts
            assert page(client, keys)["stale"] is True
            # the drain leaves the queue alone while the refresh runs
            drained = jobs.drain(factory, settings)
            assert (drained.done, drained.stopped, drained.left) == (0, True, 1)
        finally:
            holder.rollback()
            holder.close()

        drained = jobs.drain(factory, settings)

        assert (drained.done, drained.by_kind, drained.left) == (1, {"zone": 1}, 0)
        with session_scope(factory) as session:
            assert {(*r[:3],) for r in stored(session)} == {(*sorted((a, b)), "zone")}
            assert stored(session) == fresh(factory, settings)
        assert page(client, keys)["stale"] is False


def test_deleting_a_rule_waits_for_a_running_full_refresh(factory, settings) -> None:  # noqa: ANN001
    """A deletion cannot be queued (the rule's rows go with it): it waits for the refresh, then removes them."""
    with api(settings) as (client, keys):
        post(client, keys["city"], geometry=line(0, 0))
        post(client, keys["utility"], geometry=line(500, 0), kind="water")
        zone = client.post("/v1/zones", headers=keys["coordinator"], json={
            "name": "Innenstadt", "capacity": 1, "min_impact": "lane_reduction", "geometry": box(-100, -100, 700, 100)})
        zid = zone.json()["id"]
        with session_scope(factory) as session:
            assert {r[2] for r in stored(session)} == {"zone"}
        holder = factory()
        statuses: list[int] = []
        try:
            repository.lock_full_refresh(holder, wait=True)
            thread = threading.Thread(target=lambda: statuses.append(
                client.delete(f"/v1/zones/{zid}", headers=keys["coordinator"]).status_code))
            thread.start()
            deadline = time.monotonic() + 20
            while waiting_advisory_locks(holder) < 1:
                assert thread.is_alive() and time.monotonic() < deadline, statuses
                time.sleep(0.05)
        finally:
            holder.rollback()
            holder.close()
        thread.join(30)
        assert statuses == [204]
        with session_scope(factory) as session:
            assert stored(session) == set()
        assert queued(factory) == set()


def test_the_drain_skips_a_request_whose_change_is_in_flight(factory, settings) -> None:  # noqa: ANN001
    """A transaction changing the request holds its row: recomputing now could miss that change, so the drain
    leaves it queued (without waiting) and takes it in the next round."""
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        with session_scope(factory) as session:
            repository.queue_pending(session, "request", a)
        changer = factory()
        try:
            changer.execute(text("SELECT id FROM site_requests WHERE id = :id FOR UPDATE"), {"id": a})
            drained = jobs.drain(factory, settings)
            assert (drained.done, drained.busy, drained.left, drained.stopped) == (0, 1, 1, False)
        finally:
            changer.rollback()
            changer.close()
        drained = jobs.drain(factory, settings)
        assert (drained.done, drained.left) == (1, 0)


def test_a_plan_run_takes_the_refresh_lock_before_the_request_rows(factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """A plan run that may end in a full refresh waits for the refresh lock before it locks any request: a
    transaction holding the lock's shared side (a request change recomputing its conflicts) can still lock the
    plan's requests, so the two never wait for each other."""
    monkeypatch.setattr(slots_service, "REFRESH_ALL_ABOVE", 1)
    with api(settings) as (client, keys):
        ids = [post(client, keys["city"], geometry=line(0, 0), earliest_start="2027-04-01",
                    latest_end="2027-09-30", duration_days=30),
               post(client, keys["utility"], geometry=line(0, 35), kind="water", earliest_start="2027-04-01",
                    latest_end="2027-09-30", duration_days=30),
               post(client, keys["utility"], geometry=line(0, 70), kind="gas", earliest_start="2027-04-01",
                    latest_end="2027-09-30", duration_days=30)]
        run = client.post("/v1/plans", json={"bbox": [6.99, 51.43, 7.01, 51.45], "from": "2027-01-01",
                                             "to": "2028-12-31"}, headers=keys["coordinator"])
        assert run.status_code == 202, run.text

        changer = factory()
        results: list[Any] = []
        try:
            assert repository.lock_refresh_shared(changer, wait=False)
            thread = threading.Thread(target=lambda: results.append(
                slots_service.run_plan(factory, uuid.UUID(run.json()["id"]), settings)))
            thread.start()
            deadline = time.monotonic() + 60
            while waiting_advisory_locks(changer) < 1:
                assert thread.is_alive() and time.monotonic() < deadline, f"the plan run did not wait: {results}"
                time.sleep(0.05)
            # the plan run waits for the lock and holds none of its requests
            try:
                locked = changer.scalars(text("SELECT id FROM site_requests WHERE id = ANY(:ids) FOR UPDATE NOWAIT"),
                                         {"ids": ids}).all()
            except OperationalError as exc:
                pytest.fail(f"the plan run holds request rows while it waits for the refresh lock: {exc.orig}")
            assert sorted(locked) == sorted(ids)
        finally:
            changer.rollback()
            changer.close()
        thread.join(120)
        assert not thread.is_alive()
        assert results == ["done"]
        plan = client.get(f"/v1/plans/{run.json()['id']}", headers=keys["coordinator"]).json()
        assert plan["status"] == "done" and plan["statistics"]["placed"] == 3
        with session_scope(factory) as session:
            assert stored(session) == fresh(factory, settings)
        assert queued(factory) == set()


def test_many_moved_slots_are_queued_while_another_full_refresh_runs(factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """Slots that moved in a transaction which did not take the refresh lock first (it may hold their rows): it
    does not wait for a full refresh running elsewhere, it queues the requests."""
    monkeypatch.setattr(slots_service, "REFRESH_ALL_ABOVE", 1)
    with api(settings) as (client, keys):
        ids = [post(client, keys["city"], geometry=line(0, 0)), post(client, keys["utility"], geometry=line(0, 35))]
    holder = factory()
    try:
        repository.lock_full_refresh(holder, wait=True)
        with session_scope(factory) as session:
            repository.set_lock_timeout(session, API_LOCK_TIMEOUT_MS)  # a wait for the lock fails the test
            slots_service.refresh_conflicts(session, ids, settings)
        assert queued(factory) == {("request", i) for i in ids}
    finally:
        holder.rollback()
        holder.close()


def test_a_full_refresh_takes_over_the_changes_queued_before_it(factory, settings, database_url,  # noqa: ANN001
                                                               monkeypatch) -> None:
    """Queued changes committed before a full refresh starts are computed by it; `conflicts report` warns of
    queued changes, and `conflicts refresh` leaves none."""
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
    with session_scope(factory) as session:
        repository.queue_pending(session, "request", a)
        repository.queue_pending(session, "request", a)
        assert service.pending_count(session) == 1  # one request, queued twice
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    report = CliRunner().invoke(cli, ["conflicts", "report", "--no-refresh"], catch_exceptions=False)
    assert "1 request(s) or rule(s) changed during a full refresh" in report.output
    result = CliRunner().invoke(cli, ["conflicts", "refresh"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert queued(factory) == set()
    report = CliRunner().invoke(cli, ["conflicts", "report", "--no-refresh"], catch_exceptions=False)
    assert "changed during a full refresh" not in report.output
