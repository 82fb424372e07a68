"""Recomputations of neighbouring requests at the same instant: each pair is stored once, nobody deadlocks, and the
later recomputation sees what the earlier one committed. Real PostgreSQL, committed data, two transactions at once
(threads), lined up with a barrier just before they recompute. Also migration 0021's clean-up and unique index."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.cli import alembic_config
from service.conflicts import jobs, repository, service
from service.conflicts.models import CONFLICT_IDENTITY_INDEX, Conflict
from service.kit.db import make_sessionmaker, session_scope, temporary_database
from service.settings import Settings
from tests.conflicts.helpers import line
from tests.conflicts.test_pending import api, fresh, page, post, queued, settle
from tests.conftest import BASE_URL


@pytest.fixture
def factory(clean_database: Engine, settings: Settings) -> sessionmaker[Session]:
    return make_sessionmaker(clean_database, settings)


def rows(factory: sessionmaker[Session]) -> list[tuple]:
    """Every stored conflict, duplicates included, with its distance (which says which states it was computed from)."""
    with session_scope(factory) as session:
        return sorted(session.execute(select(
            Conflict.request_a, Conflict.request_b, Conflict.kind, Conflict.overlap_start, Conflict.overlap_end,
            Conflict.distance_m)).all(), key=str)


def fresh_rows(factory: sessionmaker[Session], settings: Settings) -> list[tuple]:
    session = factory()
    try:
        service.refresh_all(session, settings=settings)
        return sorted(session.execute(select(
            Conflict.request_a, Conflict.request_b, Conflict.kind, Conflict.overlap_start, Conflict.overlap_end,
            Conflict.distance_m)).all(), key=str)
    finally:
        session.rollback()
        session.close()


def at_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, *, after: bool = False) -> Callable:
    """Make the next two calls of ``owner.name`` (before it or, with ``after``, after it returned) wait for each
    other, so that two transactions reach it at the same instant; later calls go through. The returned function runs
    the bodies in threads of their own and collects their results or exceptions. (The test client runs an endpoint
    in a worker thread of its own, so the calls are counted, not told apart by thread.)"""
    barrier = threading.Barrier(2, timeout=30)
    real = getattr(owner, name)
    calls = iter(range(2))
    guard = threading.Lock()

    def synced(*args: Any, **kwargs: Any) -> Any:
        with guard:
            lined_up = next(calls, None) is not None
        if not lined_up:
            return real(*args, **kwargs)
        if after:
            result = real(*args, **kwargs)
            barrier.wait()
            return result
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, synced)

    def run(*bodies: Callable[[], Any]) -> list[Any]:
        results: list[Any] = [None] * len(bodies)

        def body(i: int) -> None:
            try:
                results[i] = bodies[i]()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                results[i] = exc

        threads = [threading.Thread(target=body, args=(i,)) for i in range(len(bodies))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        assert not any(t.is_alive() for t in threads), "a transaction hangs"
        return results

    return run


def test_neighbours_changed_at_the_same_instant_store_their_pair_once_and_never_deadlock(
        factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """Both PATCHes hold their request row FOR UPDATE when they recompute. The first one's pair needs the second's
    row (foreign key, KEY SHARE), so the second cannot wait for it: it queues its request and commits, and the worker
    recomputes it. Before, PostgreSQL aborted one of them (deadlock, a 500)."""
    monkeypatch.setattr(service, "SINGLE_REFRESH_WAIT_S", 20.0)  # giving up must come from seeing the holder wait
    settle(factory, settings)  # the rules revision recorded: `stale` speaks of the queue alone
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        b = post(client, keys["utility"], geometry=line(0, 35), kind="water")
        assert [r[:3] for r in rows(factory)] == [(*sorted((a, b)), "space")]
        run = at_once(monkeypatch, service, "refresh_for_request")

        def change(rid: uuid.UUID, key: str, geometry: dict) -> tuple[int, float]:
            started = time.monotonic()
            r = client.patch(f"/v1/requests/{rid}", json={"geometry": geometry},
                             headers={**keys[key], "If-Match": '"v1"'})
            return r.status_code, time.monotonic() - started

        results = run(lambda: change(a, "city", line(0, 5)), lambda: change(b, "utility", line(0, 30)))

        assert [r if isinstance(r, BaseException) else r[0] for r in results] == [200, 200]
        assert max(r[1] for r in results) < 10, "the second recomputation waited for the first in vain"
        stored = rows(factory)
        assert [r[:3] for r in stored] == [(*sorted((a, b)), "space")]  # once
        assert len(queued(factory)) == 1  # the one that could not wait: recomputed by the worker
        listed = page(client, keys)
        assert len(listed["features"]) == listed["numberReturned"] == 1
        assert (listed["stale"], listed["pending"]) == (True, 1)

        drained = jobs.drain(factory, settings)

        assert (drained.done, drained.left) == (1, 0)
        assert rows(factory) == fresh_rows(factory, settings)
        assert abs(rows(factory)[0][5] - 25) < 0.5  # from both new places
        listed = page(client, keys)
        assert (listed["numberReturned"], listed["stale"], listed["pending"]) == (1, False, 0)


def test_two_drains_of_neighbouring_requests_store_their_pair_once(factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """Two workers each recomputing one of two neighbours (holding their rows FOR SHARE, which does not keep the
    other's foreign key check waiting): before, both inserted the pair."""
    settle(factory, settings)  # the rules revision recorded: `stale` speaks of the queue alone
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        b = post(client, keys["utility"], geometry=line(0, 35), kind="water")
        c = post(client, keys["utility"], geometry=line(3000, 3000), kind="gas")  # far away: never involved
        with session_scope(factory) as session:
            session.execute(text("DELETE FROM conflicts"))
            for rid in (a, b):
                repository.queue_pending(session, "request", rid)
        run = at_once(monkeypatch, repository, "share_target", after=True)

        def drain_one(rid: uuid.UUID) -> str:
            with session_scope(factory) as session:
                return service.drain_target(session, "request", rid, settings)

        results = run(lambda: drain_one(a), lambda: drain_one(b))

        assert results == ["done", "done"]
        assert [r[:3] for r in rows(factory)] == [(*sorted((a, b)), "space")]
        assert rows(factory) == fresh_rows(factory, settings)
        assert queued(factory) == set()
        listed = page(client, keys)
        assert (listed["numberReturned"], listed["stale"], listed["pending"]) == (1, False, 0)
        assert c not in {uuid.UUID(x["id"]) for f in listed["features"] for x in f["properties"]["requests"]}


def test_neighbours_created_at_the_same_instant_find_each_other(factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """The second recomputation starts after the first committed, so it sees the new neighbour: before, neither
    saw the other (each one's new row was uncommitted) and their pair was missing until the next change."""
    settle(factory, settings)  # the rules revision recorded: `stale` speaks of the queue alone
    with api(settings) as (client, keys):
        run = at_once(monkeypatch, service, "refresh_for_request")
        results = run(lambda: post(client, keys["city"], geometry=line(0, 0)),
                      lambda: post(client, keys["utility"], geometry=line(0, 35), kind="water"))
        assert all(isinstance(r, uuid.UUID) for r in results), results
        assert [r[:3] for r in rows(factory)] == [(*sorted(results), "space")]
        assert queued(factory) == set()
        assert {r[:5] for r in rows(factory)} == fresh(factory, settings)
        listed = page(client, keys)
        assert (listed["numberReturned"], listed["stale"], listed["pending"]) == (1, False, 0)


def test_a_recomputation_that_gave_up_waiting_queues_the_rest_of_its_transaction(
        factory, settings, monkeypatch) -> None:  # noqa: ANN001
    """A transaction holding the lock for long (a plan run moving many slots): another one polls for at most
    ``SINGLE_REFRESH_WAIT_S``, then queues its request, and in the same transaction queues the next at once."""
    monkeypatch.setattr(service, "SINGLE_REFRESH_WAIT_S", 0.3)
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        b = post(client, keys["utility"], geometry=line(3000, 3000), kind="gas")
    holder = factory()
    try:
        assert repository.lock_refresh_shared(holder, wait=False)
        assert repository.lock_single_refresh(holder, wait=False)
        with session_scope(factory) as session:
            started = time.monotonic()
            assert service.refresh_for_request(session, a, settings) == 0
            assert 0.3 <= time.monotonic() - started < 2
            started = time.monotonic()
            assert service.refresh_for_request(session, b, settings) == 0
            assert time.monotonic() - started < 0.2
        assert queued(factory) == {("request", a), ("request", b)}
        # the drain leaves them queued while the lock is held
        drained = jobs.drain(factory, settings)
        assert (drained.done, drained.busy, drained.left) == (0, 2, 2)
    finally:
        holder.rollback()
        holder.close()
    assert jobs.drain(factory, settings).done == 2
    assert queued(factory) == set()


def test_a_conflict_cannot_be_stored_twice(factory, settings) -> None:  # noqa: ANN001
    with api(settings) as (client, keys):
        a = post(client, keys["city"], geometry=line(0, 0))
        post(client, keys["utility"], geometry=line(0, 35), kind="water")
        moratorium = client.post("/v1/moratoriums", headers=keys["coordinator"], json={
            "name": "Neu asphaltiert", "reason": "Deckschicht 2026", "start": "2027-01-01", "end": "2027-12-31",
            "geometry": line(-50, 0, 300)})
        assert moratorium.status_code == 201, moratorium.text
    with session_scope(factory) as session:
        assert {r.kind for r in session.scalars(select(Conflict))} == {"space", "moratorium"}
        assert session.scalar(select(Conflict).where(Conflict.request_a == a, Conflict.kind == "moratorium"))
    copy = ("INSERT INTO conflicts (request_a, request_b, kind, hard, distance_m, overlap_start, overlap_end, reason, "
            "zone_id, corridor_id, moratorium_id, blackout_id) SELECT request_a, request_b, kind, hard, distance_m, "
            "overlap_start, overlap_end, reason, zone_id, corridor_id, moratorium_id, blackout_id FROM conflicts "
            "WHERE kind = :kind")
    for kind in ("space", "moratorium"):  # a pair; a request and a rule (request_b null, as the pair's rule columns)
        with pytest.raises(IntegrityError, match=CONFLICT_IDENTITY_INDEX), session_scope(factory) as session:
            session.execute(text(copy), {"kind": kind})


# --- migration 0021 ----------------------------------------------------------------------------------------------


@pytest.fixture
def scratch_url():  # noqa: ANN201
    with temporary_database(BASE_URL, "baustellen_pairs") as url:
        yield url


def test_upgrade_removes_stored_duplicates_and_queues_their_requests(scratch_url: str) -> None:
    scratch = Settings(database_url=scratch_url, db_pool_size=5, webhook_allow_http_loopback=True)
    cfg = alembic_config(scratch)
    cfg.attributes["skip_logging"] = True
    engine = create_engine(scratch_url)
    factory = make_sessionmaker(engine, scratch)
    try:
        with api(scratch) as (client, keys):
            a = post(client, keys["city"], geometry=line(0, 0))
            b = post(client, keys["utility"], geometry=line(0, 35), kind="water")
            c = post(client, keys["utility"], geometry=line(0, -35), kind="gas")
            post(client, keys["city"], geometry=line(3000, 3000))
        with session_scope(factory) as session:
            service.refresh_all(session, settings=scratch)
        before = rows(factory)
        assert len(before) == 3  # a-b, a-c, b-c (70 m, both utilities: 200 m needed)
        command.downgrade(cfg, "0020_rule_names_ci")
        with engine.begin() as conn:  # a-b stored three times, with another distance (from an older state)
            conn.execute(text(
                "INSERT INTO conflicts (request_a, request_b, kind, hard, distance_m, overlap_start, overlap_end, "
                "reason) SELECT request_a, request_b, kind, hard, distance_m + n, overlap_start, overlap_end, reason "
                "FROM conflicts CROSS JOIN generate_series(1, 2) n WHERE :a IN (request_a, request_b) "
                "AND :b IN (request_a, request_b)"), {"a": a, "b": b})
        assert len(rows(factory)) == 5

        command.upgrade(cfg, "head")

        after = rows(factory)
        assert [r[:5] for r in after] == [r[:5] for r in before]
        assert queued(factory) == {("request", a), ("request", b)}
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"),
                               {"n": CONFLICT_IDENTITY_INDEX}) == 1
        assert jobs.drain(factory, scratch).done == 2
        assert rows(factory) == before
        assert c in {r[1] for r in rows(factory)} | {r[0] for r in rows(factory)}
        command.downgrade(cfg, "0020_rule_names_ci")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = :n"),
                               {"n": CONFLICT_IDENTITY_INDEX}) == 0
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()
