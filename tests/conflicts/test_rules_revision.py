"""Stored conflicts follow the rules of the running code: ``conflicts_state`` records the rules revision and the
settings of the last full refresh, and the worker's check (``service.conflicts.jobs.follow_rules``, run at its start)
recomputes them when they are older."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, delete, func, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.app import create_app
from service.auth import service as auth
from service.cli import app as cli
from service.conflicts import jobs, repository, service
from service.conflicts.models import Conflict, ConflictsState
from service.kit.db import make_sessionmaker, session_scope, temporary_database
from service.settings import Settings
from service.worker import WorkerContext
from tests.conflicts.helpers import fixed, line
from tests.conftest import BASE_URL, site_body

OLD = service.RULES_REVISION - 1


def post(client: TestClient, headers: dict[str, str], **overrides: Any) -> uuid.UUID:
    r = client.post("/v1/requests", json=site_body(**fixed(**overrides)), headers=headers)
    assert r.status_code == 201, r.text
    return uuid.UUID(r.json()["id"])


def stored(session: Session) -> list[tuple]:
    """Every stored conflict without its id and creation time, sorted."""
    rows = session.execute(select(
        Conflict.request_a, Conflict.request_b, Conflict.kind, Conflict.hard, Conflict.distance_m,
        Conflict.overlap_start, Conflict.overlap_end, Conflict.reason, Conflict.zone_id, Conflict.corridor_id,
        Conflict.moratorium_id, Conflict.blackout_id)).all()
    return sorted((*r[:7], json.dumps(r[7], sort_keys=True), *r[8:]) for r in rows)


def set_state(session: Session, revision: int, config_hash: str = "") -> None:
    session.execute(delete(ConflictsState))
    session.execute(insert(ConflictsState).values(id=1, rules_revision=revision, config_hash=config_hash))
    session.flush()


def stored_revision(session: Session) -> int | None:
    return session.scalar(select(ConflictsState.rules_revision))


def bogus_conflict(session: Session, a: uuid.UUID, b: uuid.UUID) -> None:
    """A row no rule would find (the two sites are kilometres apart): what older rules could have left behind."""
    a, b = sorted((a, b))
    session.execute(insert(Conflict).values(
        request_a=a, request_b=b, kind="space", hard=True, distance_m=3.0, overlap_start="2027-04-01",
        overlap_end="2027-05-30", reason={"required_m": 200.0}))
    session.flush()


@pytest.fixture
def context(settings: Settings, connection: Connection) -> WorkerContext:
    """The worker's context on the test's transaction (its commits release savepoints)."""
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                           info={"settings": settings})
    return WorkerContext(settings=settings, sessionmaker=factory)


@pytest.fixture
def sites(client, city, utility) -> dict[str, uuid.UUID]:  # noqa: ANN001
    """Two sites 35 m apart (a hard space conflict) and two lonely ones kilometres away from everything."""
    return {
        "a": post(client, city.headers, geometry=line(0, 0)),
        "b": post(client, utility.headers, geometry=line(0, 35), kind="water"),
        "far_1": post(client, city.headers, geometry=line(3000, 3000)),
        "far_2": post(client, utility.headers, geometry=line(-3000, -3000), kind="gas"),
    }


def test_worker_start_recomputes_conflicts_stored_with_older_rules(client, coordinator, db, context, sites,  # noqa: ANN001
                                                                   settings) -> None:
    fresh = stored(db)  # what the current rules find (each request refreshed its conflicts on creation)
    assert [(r[0], r[1], r[2]) for r in fresh] == [(*sorted((sites["a"], sites["b"])), "space")]
    # conflicts left by older rules: the real one missing, one the current rules would not find
    db.execute(delete(Conflict))
    bogus_conflict(db, sites["far_1"], sites["far_2"])
    set_state(db, OLD)
    assert stored(db) != fresh
    assert service.rules_state(db, settings).stale
    page = client.get("/v1/conflicts", headers=coordinator.headers).json()
    assert (page["rules_revision"], page["stale"]) == (OLD, True)

    assert jobs.follow_rules(context) == "recomputed"

    assert stored(db) == fresh
    assert stored_revision(db) == service.RULES_REVISION
    assert not service.rules_state(db, settings).stale
    page = client.get("/v1/conflicts", headers=coordinator.headers).json()
    assert (page["rules_revision"], page["stale"]) == (service.RULES_REVISION, False)
    assert page["numberReturned"] == 1
    # and the next check finds them current
    assert jobs.follow_rules(context) == "current"


def test_worker_start_does_nothing_when_the_conflicts_are_current(db, context, sites, settings) -> None:  # noqa: ANN001
    service.refresh_all(db, settings=settings)
    assert stored_revision(db) == service.RULES_REVISION
    bogus_conflict(db, sites["far_1"], sites["far_2"])  # a full refresh would remove it
    before = stored(db)

    assert jobs.follow_rules(context) == "current"

    assert stored(db) == before
    assert len(before) == 2


def test_conflicts_stored_by_newer_code_are_left_alone(db, context, sites) -> None:  # noqa: ANN001
    """During a rolling upgrade an older worker must not rebuild the graph with its older rules."""
    set_state(db, service.RULES_REVISION + 1, "from newer code")
    bogus_conflict(db, sites["far_1"], sites["far_2"])
    before = stored(db)
    assert jobs.follow_rules(context) == "current"
    assert stored(db) == before
    assert stored_revision(db) == service.RULES_REVISION + 1


def test_other_distance_settings_are_a_change_of_the_rules(db, connection, sites, settings) -> None:  # noqa: ANN001
    service.refresh_all(db, settings=settings)
    assert len(stored(db)) == 1  # 35 m apart, 200 m needed between full closures
    closer = Settings(database_url=settings.database_url,
                      conflict_distance_m={**settings.conflict_distance_m, "full_closure": 30.0})
    assert service.rules_state(db, closer).stale and not service.rules_state(db, settings).stale
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                           info={"settings": closer})

    assert jobs.follow_rules(WorkerContext(settings=closer, sessionmaker=factory)) == "recomputed"

    assert stored(db) == []
    assert stored_revision(db) == service.RULES_REVISION
    assert service.rules_state(db, closer).stale is False


def test_a_missing_state_row_counts_as_stale_and_a_full_refresh_records_it(db, settings) -> None:  # noqa: ANN001
    db.execute(delete(ConflictsState))  # as after `truncate` of every table
    state = service.rules_state(db, settings)
    assert (state.stored_revision, state.stale) == (0, True)
    service.refresh_all(db, settings=settings)
    row = repository.get_state(db)
    assert row.rules_revision == service.RULES_REVISION and row.computed_at is not None
    assert not service.rules_state(db, settings).stale


def test_the_migration_leaves_the_conflicts_to_be_recomputed() -> None:
    """Conflicts stored before revisions were recorded may follow older rules (before 0015)."""
    with temporary_database(BASE_URL, "baustellen_rules_revision") as url:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT id, rules_revision FROM conflicts_state")).all() == [(1, 0)]
        finally:
            engine.dispose()


# --- committed data: separate processes and connections ---------------------------------------------------


def _committed_sites(factory: sessionmaker[Session], settings: Settings) -> None:
    with session_scope(factory) as session:
        keys = []
        for kind in ("city", "utility"):
            org = auth.create_organisation(session, name=f"{kind} {uuid.uuid4().hex[:6]}", kind=kind)
            keys.append({"Authorization": f"Bearer {auth.create_key(session, org_id=org.id, role='submitter')[1]}"})
    with TestClient(create_app(settings)) as client:
        post(client, keys[0], geometry=line(0, 0))
        post(client, keys[1], geometry=line(0, 35), kind="water")
        post(client, keys[1], geometry=line(0, 70), kind="gas")


def test_two_workers_starting_at_once_recompute_once(clean_database, settings) -> None:  # noqa: ANN001
    factory = make_sessionmaker(clean_database, settings)
    _committed_sites(factory, settings)
    with session_scope(factory) as session:
        expected = stored(session)
        assert len(expected) == 3
        session.execute(update(Conflict).where(Conflict.kind == "space").values(distance_m=999.0))
        set_state(session, OLD)
    results: list[str] = []
    # a full refresh running elsewhere holds the lock: both workers find the conflicts stale and wait for it
    holder = factory()
    repository.lock_full_refresh(holder, wait=True)
    workers = [threading.Thread(target=lambda: results.append(jobs.follow_rules(
        WorkerContext(settings=settings, sessionmaker=factory)))) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 20
        while holder.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")) < 2:
            assert time.monotonic() < deadline, "the workers did not wait for the lock"
            time.sleep(0.05)
    finally:
        holder.rollback()
        holder.close()
    for w in workers:
        w.join(timeout=60)
    assert sorted(results) == ["current", "recomputed"]
    with session_scope(factory) as session:
        assert stored(session) == expected
        assert stored_revision(session) == service.RULES_REVISION
        assert session.scalar(select(func.count()).select_from(Conflict)) == 3


def test_cli_refresh_records_the_revision_and_shows_progress(clean_database, database_url, settings,  # noqa: ANN001
                                                            monkeypatch) -> None:
    factory = make_sessionmaker(clean_database, settings)
    _committed_sites(factory, settings)
    with session_scope(factory) as session:
        set_state(session, OLD)
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    report = CliRunner().invoke(cli, ["conflicts", "report", "--no-refresh"], catch_exceptions=False)
    assert f"stored with rules revision {OLD}" in report.output and "baustellen conflicts refresh" in report.output
    result = CliRunner().invoke(cli, ["conflicts", "refresh"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "… pairs" in result.output and f"follow rules revision {service.RULES_REVISION}" in result.output
    with session_scope(factory) as session:
        assert stored_revision(session) == service.RULES_REVISION
        assert len(stored(session)) == 3
        assert not service.rules_state(session, settings).stale
    report = CliRunner().invoke(cli, ["conflicts", "report", "--no-refresh"], catch_exceptions=False)
    assert "stored with rules revision" not in report.output
