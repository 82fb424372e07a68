"""What every connection of the service's engines is set to (``kit.db.CONNECTION_OPTIONS``, the API's lock timeout), and
that the API stays answering while long jobs hold rows and its pool is in use."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.pool import QueuePool

from service.app import create_app
from service.auth import service as auth
from service.kit.db import make_api_engine, make_engine, make_sessionmaker, session_scope
from service.settings import Settings
from tests.conftest import site_body


def test_every_connection_runs_in_utc_without_jit(settings: Settings) -> None:
    """JIT off for every query, not only the map's: it compiled each spatial conflict query for 0.7-0.9 s at
    12,500 requests (a submission took 550 ms instead of 130, an approval 2.4 s instead of 110 ms)."""
    engine = make_engine(settings)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("show jit")).scalar_one() == "off"
            assert conn.execute(text("show timezone")).scalar_one() == "UTC"
    finally:
        engine.dispose()


def _key(engine: Engine, settings: Settings) -> dict[str, str]:
    with session_scope(make_sessionmaker(engine, settings)) as session:
        org = auth.create_organisation(session, name=f"Stadt {uuid.uuid4().hex[:6]}", kind="city")
        return {"Authorization": f"Bearer {auth.create_key(session, org_id=org.id, role='submitter')[1]}"}


def test_api_calls_give_up_waiting_for_a_lock_but_the_worker_and_cli_wait(settings: Settings) -> None:
    """``BAUSTELLEN_API_LOCK_TIMEOUT_MS`` holds for the API's connections only: a plan run must keep waiting."""
    api, worker = make_api_engine(settings.model_copy(update={"api_lock_timeout_ms": 1234})), make_engine(settings)
    try:
        with api.connect() as conn:
            assert conn.execute(text("show lock_timeout")).scalar_one() == "1234ms"
            conn.execute(text("SET LOCAL lock_timeout = 500"))  # code that sets its own still wins in its transaction
            assert conn.execute(text("show lock_timeout")).scalar_one() == "500ms"
        with worker.connect() as conn:
            assert conn.execute(text("show lock_timeout")).scalar_one() == "0"
    finally:
        api.dispose()
        worker.dispose()


def test_an_api_write_on_a_request_a_plan_run_holds_answers_503_busy_at_once_and_changes_nothing(
        clean_database: Engine, settings: Settings) -> None:
    """A city-wide plan run holds its requests' rows for minutes while it writes its proposals: an API write on one
    of them gave up only after the pool's 30 s (or never), and 22 such calls took the whole API down."""
    cfg = settings.model_copy(update={"api_lock_timeout_ms": 300})
    headers = _key(clean_database, cfg)
    with TestClient(create_app(cfg)) as client:
        created = client.post("/v1/requests", json=site_body(), headers=headers)
        assert created.status_code == 201, created.text
        url = f"/v1/requests/{created.json()['id']}"
        before = client.get(url, headers=headers)
        holder = clean_database.connect()  # a plan run's write_plan: the request row FOR UPDATE for minutes
        try:
            # without a lock timeout the calls below would wait for ever: let the server end the holder after 5 s
            holder.execute(text("SET idle_in_transaction_session_timeout = '5s'"))
            holder.execute(text("SELECT id FROM site_requests WHERE id = :id FOR UPDATE"), {"id": created.json()["id"]})
            t0 = time.monotonic()
            answers = [client.patch(url, json={"title": "Neuer Titel"},
                                    headers={**headers, "If-Match": before.headers["etag"]}),
                       client.post(url + "/withdraw", headers=headers)]
            waited = time.monotonic() - t0
        finally:
            holder.invalidate()  # ends its transaction (a rollback would fail on a connection the server ended)
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json" and r.headers["retry-after"] == "30"
        problem = r.json()
        assert problem["type"].endswith("/busy") and problem["title"] == "Busy"
        assert "plan run" in problem["detail"] and "nothing was changed" in problem["detail"]
    assert waited < 3, waited  # two calls of about 0.3 s each
    with TestClient(create_app(cfg)) as client:
        after = client.get(url, headers=headers)
        assert after.headers["etag"] == before.headers["etag"] and after.json() == before.json()


def test_healthz_answers_200_while_every_connection_of_the_api_pool_is_in_use(settings: Settings) -> None:
    """Calls waiting for locks had taken all pooled connections: /healthz then waited the pool's 30 s for one and
    answered 503 "database unavailable", and an orchestrator would restart a service whose database is fine."""
    with TestClient(create_app(settings.model_copy(update={"db_pool_size": 1}))) as client:
        engine: Engine = client.app.state.engine
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        held = [engine.connect() for _ in range(pool.size() + pool._max_overflow)]  # the whole pool and its overflow
        try:
            assert pool.checkedout() == len(held) and pool.overflow() == pool._max_overflow
            t0 = time.monotonic()
            r = client.get("/healthz")
            assert r.status_code == 200 and r.json() == {"status": "ok"}, r.text
            assert time.monotonic() - t0 < 3
        finally:
            for conn in held:
                conn.close()
