"""A stored public title follows the scrubbing rules of the running code: one made with older rules (a row on an
older ``public_title_rev``) is scrubbed again by the worker and by ``baustellen db upgrade``, without becoming a
new version of the request; a title set by a PATCH is stored with the current revision."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from service.auth import service as auth
from service.auth.service import Principal
from service.feeds.common import SCRUB_REVISION, scrub
from service.requests import jobs
from service.requests import service as requests_service
from service.requests.schemas import RequestWrite
from service.worker import WorkerContext, build_scheduler
from tests.conftest import site_body

TITLE = "Kanalbau Rüttenscheider Straße, Bauleitung: Herr Krause"
SCRUBBED = scrub(TITLE)


def _make_stale(session: Session, rid: object, public_title: str = TITLE, rev: int = 0) -> None:
    """What a row looks like whose public title older rules made: here they left the name in."""
    session.execute(text("UPDATE site_requests SET public_title = :t, public_title_rev = :rev WHERE id = :id"),
                    {"t": public_title, "rev": rev, "id": rid})


def _row(session: Session, rid: object) -> dict:
    return dict(session.execute(text(
        "SELECT public_title, public_title_rev, version, updated_at FROM site_requests WHERE id = :id"
    ), {"id": rid}).mappings().one())


def _listed_title(client, reader, rid: str) -> str:  # noqa: ANN001
    listed = client.get("/v1/requests", params={"bbox": "6.99,51.43,7.01,51.45"}, headers=reader.headers)
    assert listed.status_code == 200
    (feature,) = [f for f in listed.json()["features"] if f["id"] == rid]
    return feature["properties"]["title"]


def test_scrubbed_with_the_current_rules_and_that_revision() -> None:
    assert "Krause" not in SCRUBBED and SCRUBBED.startswith("Kanalbau Rüttenscheider Straße")


def test_stale_public_titles_are_scrubbed_again_without_a_new_version(client, db, connection, settings, city,
                                                                      utility) -> None:  # noqa: ANN001
    rids = [client.post("/v1/requests", json=site_body(title=TITLE), headers=city.headers).json()["id"]
            for _ in range(3)]
    current = client.post("/v1/requests", json=site_body(title="Gasleitung Huyssenallee"),
                          headers=city.headers).json()["id"]
    assert _row(db, rids[0])["public_title_rev"] == SCRUB_REVISION  # a new title gets the current revision
    for rid in rids:
        _make_stale(db, rid)
    # a row on the current revision is not read again (the text is left as it is, even if it were wrong)
    _make_stale(db, current, public_title="Gasleitung Huyssenallee (so gespeichert)", rev=SCRUB_REVISION)
    before = {rid: _row(db, rid) for rid in rids}
    assert _listed_title(client, utility, rids[0]) == TITLE  # what the map and lists showed: the name

    first = requests_service.refresh_public_titles(db, limit=2)
    assert (first.refreshed, first.changed, first.done) == (2, 2, False)
    second = requests_service.refresh_public_titles(db, limit=2, after=first.last_id)
    assert (second.refreshed, second.done) == (1, True)
    assert requests_service.refresh_public_titles(db).refreshed == 0  # nothing left: nothing done

    for rid in rids:
        after = _row(db, rid)
        assert (after["public_title"], after["public_title_rev"]) == (SCRUBBED, SCRUB_REVISION)
        # not a change of the request: same version (ETag), same updated_at
        assert (after["version"], after["updated_at"]) == (before[rid]["version"], before[rid]["updated_at"])
    assert _row(db, current)["public_title"] == "Gasleitung Huyssenallee (so gespeichert)"
    assert _listed_title(client, utility, rids[0]) == SCRUBBED
    assert _listed_title(client, city, rids[0]) == TITLE  # the owner still reads it as written

    # the worker's job does the same, at its start (a job of the worker process, not of the API)
    _make_stale(db, rids[1])
    scheduler, _ = build_scheduler(settings)
    job = scheduler.get_job("requests.follow_scrub_rules")
    assert job is not None and job.func is jobs.follow_scrub_rules and job.next_run_time is not None
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    assert jobs.follow_scrub_rules(WorkerContext(settings=settings, sessionmaker=factory)) == 1
    assert _row(db, rids[1])["public_title"] == SCRUBBED
    assert _row(db, rids[1])["version"] == before[rids[1]]["version"]


def test_a_patched_title_gets_the_current_revision(client, db, city, utility) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(title="Kanalbau Rüttenscheider Straße"), headers=city.headers)
    rid, url = created.json()["id"], created.headers["location"]
    _make_stale(db, rid, public_title="Kanalbau Rüttenscheider Straße", rev=0)
    patched = client.patch(url, json={"title": TITLE}, headers={**city.headers, "If-Match": '"v1"'})
    assert patched.status_code == 200, patched.text
    row = _row(db, rid)
    assert (row["public_title"], row["public_title_rev"]) == (SCRUBBED, SCRUB_REVISION)
    assert client.get(url, headers=utility.headers).json()["title"] == SCRUBBED


def test_db_upgrade_scrubs_stale_titles_again(settings, engine, clean_database, database_url) -> None:  # noqa: ANN001
    with Session(engine) as s:
        org = auth.create_organisation(s, name="Stadt Essen", kind="city")
        key, _ = auth.create_key(s, org_id=org.id, role="submitter")
        owner = Principal(org_id=org.id, org_name=org.name, org_kind="city", role="submitter", key_id=key.id)
        body = site_body(title=TITLE, external_id=f"EB-{uuid.uuid4().hex[:6]}")
        req, _ = requests_service.create(s, owner, RequestWrite.model_validate(body), settings)
        rid = req.id
        s.commit()
        _make_stale(s, rid)
        s.commit()
        before = _row(s, rid)

    # its own process, as an operator runs it (Alembic configures the logging of the process it runs in)
    env = {**os.environ, "BAUSTELLEN_DATABASE_URL": database_url}
    done = subprocess.run([sys.executable, "-c", "from service.cli import app; app()", "db", "upgrade"],
                          cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                          timeout=120)
    out = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
    assert done.returncode == 0, out
    assert f"public titles: 1 refreshed (scrubbing rules revision {SCRUB_REVISION}, 1 changed)" in out
    with Session(engine) as s:
        after = _row(s, rid)
    assert (after["public_title"], after["public_title_rev"]) == (SCRUBBED, SCRUB_REVISION)
    assert (after["version"], after["updated_at"]) == (before["version"], before["updated_at"])

    again = subprocess.run([sys.executable, "-c", "from service.cli import app; app()", "db", "upgrade"],
                           cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                           timeout=120)
    assert again.returncode == 0 and "public titles: 0 refreshed" in again.stdout + again.stderr
