"""Idempotency-Keys are kept for ``BAUSTELLEN_IDEMPOTENCY_KEEP_HOURS`` (default 24 h), not for ever: the worker's
``requests.purge_idempotency_keys`` deletes older answers, and a key older than that is free again."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from service.requests import jobs
from service.requests.models import IdempotencyRecord, SiteRequest
from service.settings import Settings
from service.worker import WorkerContext, build_scheduler
from tests.conftest import site_body


def _post(client, city, key: str, body: dict):  # noqa: ANN001, ANN202
    return client.post("/v1/requests", json=body, headers={**city.headers, "Idempotency-Key": key})


def _age(db, key: str, hours: float) -> None:  # noqa: ANN001
    """Make the stored answer of ``key`` ``hours`` old (by the database's clock, which set it)."""
    db.execute(text("UPDATE idempotency_keys SET created_at = now() - make_interval(secs => :s) WHERE key = :key"),
               {"s": hours * 3600, "key": key})
    db.flush()


def _keys(db) -> set[str]:  # noqa: ANN001
    db.expire_all()
    return set(db.scalars(select(IdempotencyRecord.key)))


def _requests(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def test_the_worker_purges_old_keys_and_keeps_recent_ones(client, db, city, settings, connection) -> None:  # noqa: ANN001
    assert Settings().idempotency_keep_hours == 24
    body_old, body_new = site_body(external_id=None), site_body(external_id=None, title="Gasleitung Huyssenallee")
    old = _post(client, city, "key-old", body_old)
    recent = _post(client, city, "key-recent", body_new)
    assert old.status_code == recent.status_code == 201
    _age(db, "key-old", 25)
    _age(db, "key-recent", 23)

    scheduler, _ = build_scheduler(settings)  # a job of the worker process, run at its start and then hourly
    job = scheduler.get_job("requests.purge_idempotency_keys")
    assert job is not None and job.func is jobs.purge_idempotency_keys and job.next_run_time is not None
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    context = WorkerContext(settings=settings, sessionmaker=factory)
    assert jobs.purge_idempotency_keys(context, batch=1) == 1
    assert _keys(db) == {"key-recent"}
    assert jobs.purge_idempotency_keys(context) == 0  # nothing left to do

    # within the period the retry still gets the first answer: no second request
    replay = _post(client, city, "key-recent", body_new)
    assert replay.status_code == 201 and replay.json() == recent.json()
    assert _requests(db) == 2
    # after the purge the key is a new call: a new request
    retry = _post(client, city, "key-old", body_old)
    assert retry.status_code == 201 and retry.json()["id"] != old.json()["id"]
    assert _requests(db) == 3
    assert _post(client, city, "key-old", body_old).json()["id"] == retry.json()["id"]  # and is kept anew


def test_an_expired_key_is_free_before_the_purge_has_run(client, db, city) -> None:  # noqa: ANN001
    body = site_body(external_id=None)
    first = _post(client, city, "key-1", body)
    _age(db, "key-1", 24.01)
    other_body = _post(client, city, "key-1", {**body, "title": "Anders"})  # no "used with another body" either
    assert other_body.status_code == 201 and other_body.json()["id"] != first.json()["id"]
    assert _requests(db) == 2 and _keys(db) == {"key-1"}


def test_the_period_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAUSTELLEN_IDEMPOTENCY_KEEP_HOURS", "48")
    assert Settings().idempotency_keep_hours == 48
    with pytest.raises(ValidationError):
        Settings(idempotency_keep_hours=0)
