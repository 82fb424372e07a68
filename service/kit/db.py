"""Engine and session handling.

Services never commit: the boundary does. For HTTP that is :func:`get_session` (commit when the endpoint
returns, roll back on error); for the CLI and the worker it is :func:`session_scope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from service.settings import Settings


class Base(DeclarativeBase):
    pass


# Session settings of every connection. JIT off: the spatial queries' cost estimates (ST_DWithin, ST_AsMVT & co.)
# are high enough for PostgreSQL to JIT-compile them, which took 0.7-0.9 s per query at 12,500 requests while they
# run in 50 ms (a submission 550 ms instead of 130, an approval 2.4 s instead of 110 ms).
CONNECTION_OPTIONS = "-c timezone=UTC -c jit=off"


def make_engine(settings: Settings, *, lock_timeout_ms: int = 0, pool_timeout_s: float = 30.0) -> Engine:
    """The engine of the worker and the CLI (they wait for locks as long as it takes: a plan run must not give up
    on a row an API call holds for a moment), or with ``lock_timeout_ms`` and ``pool_timeout_s`` the API's
    (:func:`make_api_engine`)."""
    options = CONNECTION_OPTIONS + (f" -c lock_timeout={int(lock_timeout_ms)}" if lock_timeout_ms > 0 else "")
    return create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pool_timeout=pool_timeout_s,
        pool_pre_ping=True,
        connect_args={"options": options},
    )


def make_api_engine(settings: Settings) -> Engine:
    """The API's engine: every statement of its transactions gives up waiting for a lock after
    ``settings.api_lock_timeout_ms`` (PostgreSQL's ``lock_timeout`` as the connections' default; a ``SET LOCAL
    lock_timeout`` inside a transaction still wins for that transaction). A call meeting the rows a plan run
    writes then answers 503 ``busy`` (``service.kit.problems``) instead of holding a pooled connection for minutes.
    A call finding every pooled connection in use waits ``settings.db_pool_timeout_s`` for one, then answers 503
    ``busy`` too (SQLAlchemy's ``TimeoutError``), instead of holding a server thread for the pool's default 30 s."""
    return make_engine(settings, lock_timeout_ms=settings.api_lock_timeout_ms,
                       pool_timeout_s=settings.db_pool_timeout_s)


# Seconds /healthz waits to open its connection: an answer within the healthchecks' usual timeouts.
HEALTH_CONNECT_TIMEOUT_S = 3


def make_health_engine(settings: Settings) -> Engine:
    """The engine of ``/healthz``: a connection of its own per check (no pool), never one of the API's pool, so the
    check answers while the database is up even when every pooled connection is in use (calls waiting for locks)."""
    from sqlalchemy.pool import NullPool

    return create_engine(settings.database_url, poolclass=NullPool,
                         connect_args={"options": CONNECTION_OPTIONS, "connect_timeout": HEALTH_CONNECT_TIMEOUT_S})


def ping(engine: Engine) -> None:
    """``SELECT 1`` on a connection of ``engine``: raises SQLAlchemyError when the database cannot be reached."""
    from sqlalchemy import text

    with engine.connect() as conn:
        conn.execute(text("select 1"))


def make_sessionmaker(engine: Engine, settings: Settings | None = None) -> sessionmaker[Session]:
    """Sessions carry the settings in ``session.info["settings"]`` so request hooks deep below a service
    call see the same configuration as the app, CLI command or worker that opened them."""
    return sessionmaker(engine, expire_on_commit=False, info={"settings": settings} if settings else None)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Unit of work for CLI commands and worker jobs: commit on success, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session(request: Request) -> Iterator[Session]:
    """FastAPI dependency: one session per request, committed when the endpoint succeeds."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with session_scope(factory) as session:
        yield session


@contextmanager
def temporary_database(base_url: str, prefix: str, *, migrate: bool = True) -> Iterator[str]:
    """A new database on the server of ``base_url``, built by the migrations (unless ``migrate=False``) and
    dropped afterwards. Used by the test suite and the benchmarks; yields its URL."""
    import uuid

    from sqlalchemy import make_url, text

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        if migrate:
            from alembic import command

            from service.kit.schema import alembic_config

            cfg = alembic_config(Settings(database_url=url))
            cfg.attributes["skip_logging"] = True
            command.upgrade(cfg, "head")
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
        admin.dispose()
