"""Test fixtures: one throw-away PostGIS database per run, built with ``alembic upgrade head`` and dropped
afterwards; every test runs inside a transaction that is rolled back.

The API under test uses the real ``get_session`` unit of work, bound to the test's connection with
``join_transaction_mode="create_savepoint"``: an endpoint's commit releases a savepoint, an error rolls it
back, and the outer transaction is rolled back when the test ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from service.app import create_app
from service.auth import service as auth
from service.kit.db import get_session, session_scope, temporary_database
from service.kit.schema import alembic_config
from service.settings import Settings

# The tests are written on a fixed calendar: their dates (windows in 2027, blackouts at Christmas 2027, DST
# changes) lie ahead of this day, whatever day the suite runs on. Set in the environment, so the service's
# subprocesses (CLI, worker) and every ``Settings()`` built in a test work on the same day.
TODAY = "2026-11-21"
os.environ["BAUSTELLEN_TODAY"] = TODAY

BASE_URL = os.environ.get("BAUSTELLEN_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/baustellen")


def migration_config(url: str) -> Config:
    """The Alembic configuration of the database at ``url``, without Alembic's own logging setup (which would
    replace pytest's log capture)."""
    cfg = alembic_config(Settings(database_url=url))
    cfg.attributes["skip_logging"] = True
    return cfg


@pytest.fixture
def scratch_url() -> Iterator[str]:
    """A database of its own that no migration has run on (dropped afterwards), for the tests of a migration:
    upgrade it to the revision before, fill it, then upgrade past it."""
    with temporary_database(BASE_URL, "baustellen_scratch", migrate=False) as url:
        yield url


def _admin_engine() -> Engine:
    return create_engine(make_url(BASE_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin = _admin_engine()
    with admin.connect() as conn:
        available = conn.scalar(text("select count(*) from pg_available_extensions where name = 'postgis'"))
    admin.dispose()
    if not available:
        pytest.exit("PostGIS is not installed on the test server: run `make test` (it installs it).", 2)
    with temporary_database(BASE_URL, f"baustellen_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, db_pool_size=5, webhook_allow_http_loopback=True)


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    from service.kit.db import make_engine

    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    yield conn
    trans.rollback()
    conn.close()


@pytest.fixture
def db(connection: Connection, settings: Settings) -> Iterator[Session]:
    """A session on the test's transaction, for arranging data and checking tables."""
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, info={"settings": settings}
    )
    yield session
    session.close()


@pytest.fixture
def app(settings: Settings, connection: Connection):  # noqa: ANN201
    application = create_app(settings)
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, info={"settings": settings}
    )

    def _session() -> Iterator[Session]:
        with session_scope(factory) as session:
            yield session

    application.dependency_overrides[get_session] = _session
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # noqa: ANN001
    with TestClient(app) as c:
        yield c


@dataclass
class Caller:
    org_id: uuid.UUID
    key: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_caller(db: Session) -> Callable[..., Caller]:
    """``make_caller(kind="city", role="submitter")``: a new organisation with an API key."""

    def _make(kind: str = "city", role: str = "submitter", name: str | None = None) -> Caller:
        name = name or f"{kind.title()} {uuid.uuid4().hex[:6]}"
        org = auth.create_organisation(db, name=name, kind=kind)
        _, key = auth.create_key(db, org_id=org.id, role=role)
        db.flush()
        return Caller(org_id=org.id, key=key, name=name)

    return _make


@pytest.fixture
def city(make_caller) -> Caller:  # noqa: ANN001
    return make_caller("city", "submitter", "Stadt Essen – Amt für Straßen und Verkehr")


@pytest.fixture
def utility(make_caller) -> Caller:  # noqa: ANN001
    return make_caller("utility", "submitter", "Stadtwerke Essen")


@pytest.fixture
def coordinator(make_caller) -> Caller:  # noqa: ANN001
    return make_caller("coordinator", "coordinator", "Regionale Koordinierungsstelle")


@pytest.fixture
def clean_database(engine: Engine) -> Iterator[Engine]:
    """For tests that need committed data (worker processes, real servers): empties every table after."""
    yield engine
    with engine.begin() as conn:
        tables = conn.scalars(text(
            "select tablename from pg_tables where schemaname = 'public' "
            "and tablename not in ('spatial_ref_sys', 'alembic_version')"
        )).all()
        if tables:
            conn.execute(text("truncate " + ", ".join(f'"{t}"' for t in tables) + " cascade"))


def site_body(**overrides) -> dict:  # noqa: ANN003
    """A valid write body on Rüttenscheider Straße, Essen; override any field."""
    body = {
        "title": "Kanalerneuerung Rüttenscheider Straße",
        "description": "Erneuerung des Mischwasserkanals.",
        "kind": "sewer",
        "impact": "full_closure",
        "modes": ["car", "cycle"],
        "shift": "continuous",
        "geometry": {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]},
        "diversions": [{"type": "LineString", "coordinates": [[7.0030, 51.4405], [7.0041, 51.4368]]}],
        "replacement_routes": [],
        "earliest_start": "2027-03-01",
        "latest_end": "2027-09-30",
        "duration_days": 60,
        "preferred_start": "2027-04-01",
        "urgency": "planned",
        "external_id": f"EB-2027-{uuid.uuid4().hex[:6]}",
        "contact": {"name": "Bauleitung", "phone": "+49 201 000000", "email": "bau@example.org"},
    }
    body.update(overrides)
    return body
