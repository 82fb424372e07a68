"""What an operator meets when starting the service: invalid settings, a database that cannot be reached or is
not migrated, ``db downgrade -1``, ``/healthz`` without a database. Each ends in one clear line (CLI) or a 503
(API), never a traceback, a server answering 500 or a worker logging tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.kit.db import temporary_database
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
UNREACHABLE = "postgresql+psycopg://postgres@127.0.0.1:1/baustellen"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records whether `serve` started uvicorn or `worker` its scheduler (neither really runs)."""
    calls: list[str] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: calls.append("serve"))
    monkeypatch.setattr("service.worker.run", lambda settings: calls.append("worker"))
    return calls


def refused(*args: str, **env: str) -> str:
    """The command's one line on stderr; exit code 2 and no traceback."""
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.output, result.exception)
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("INFO  [alembic")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture
def bare_database(database_url: str) -> Iterator[str]:
    """A database the migrations never ran on."""
    with temporary_database(database_url, "baustellen_bare", migrate=False) as url:
        yield url


@pytest.mark.parametrize("command", [["serve"], ["worker"], ["org", "list"], ["db", "upgrade"]])
def test_invalid_settings_end_every_command_with_one_line(command: list[str], started: list[str]) -> None:
    assert refused(*command, BAUSTELLEN_TIMEZONE="Mars/Olympus").startswith(
        "error: BAUSTELLEN_TIMEZONE: unknown time zone 'Mars/Olympus'")
    # a negative poll interval made the worker spin at full CPU and ignore SIGTERM
    assert refused(*command, BAUSTELLEN_WORKER_POLL_SECONDS="-1") == (
        "error: BAUSTELLEN_WORKER_POLL_SECONDS: Input should be greater than 0 (got '-1')")
    assert started == []


def test_serve_refuses_a_negative_number_of_workers(started: list[str], database_url: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", "-1"], env={"BAUSTELLEN_DATABASE_URL": database_url})
    assert result.exit_code == 2 and "--workers" in result.output
    assert started == []


def test_an_unreachable_or_malformed_database_is_one_line(started: list[str]) -> None:
    for command in (["serve"], ["worker"], ["org", "list"]):
        line = refused(*command, BAUSTELLEN_DATABASE_URL=UNREACHABLE)
        assert line.startswith("error: database: ") and "port 1" in line and "BAUSTELLEN_DATABASE_URL" in line
    assert refused("worker", BAUSTELLEN_DATABASE_URL="postgresql+psycopg://u:s3cret@db:port/x").startswith(
        "error: BAUSTELLEN_DATABASE_URL: not a database URL like")
    assert started == []


def test_serve_and_worker_refuse_a_database_not_at_the_codes_revision(bare_database: str,
                                                                      started: list[str]) -> None:
    env = {"BAUSTELLEN_DATABASE_URL": bare_database}
    for command in ("serve", "worker"):
        assert refused(command, **env).startswith(
            "error: the database is not initialised (no Alembic revision), the code needs 0027_")
    assert refused("org", "list", **env) == (
        'error: database: relation "organisations" does not exist: run `baustellen db upgrade`')
    engine = create_engine(bare_database)
    with engine.begin() as conn:
        conn.execute(text("create table alembic_version (version_num varchar(32) primary key)"))
        conn.execute(text("insert into alembic_version values ('0023_public_titles')"))
    for command in ("serve", "worker"):
        assert refused(command, **env) == ("error: the database is at revision 0023_public_titles, the code needs "
                                           "0027_org_names_ci: run `baustellen db upgrade`")
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '0031_from_the_future'"))
    engine.dispose()
    assert "which this code does not know" in refused("worker", **env)
    assert started == []


def test_serve_and_worker_start_on_a_current_database(database_url: str, started: list[str]) -> None:
    for command in ("serve", "worker"):
        result = CliRunner().invoke(cli, [command], env={"BAUSTELLEN_DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output
    assert started == ["serve", "worker"]


def test_db_downgrade_steps_back_with_minus_one_and_names_an_unknown_revision(bare_database: str) -> None:
    env = {"BAUSTELLEN_DATABASE_URL": bare_database}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    back = CliRunner().invoke(cli, ["db", "downgrade", "-1"], env=env)  # as README says: one step back
    assert back.exit_code == 0, back.output
    assert "database at 0026_list_and_purge_indexes" in back.output
    assert refused("db", "downgrade", "nonsense", **env) == (
        "error: Can't locate revision identified by 'nonsense'")


def test_healthz_answers_503_when_the_database_cannot_be_reached(settings: Settings) -> None:
    with TestClient(create_app(settings.model_copy(update={"database_url": UNREACHABLE}))) as client:
        for method in ("GET", "HEAD"):
            r = client.request(method, "/healthz")
            assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
        assert "Die Datenbank ist nicht erreichbar" in client.get("/healthz").json()["detail"]
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}


def test_python_dash_m_service_cli_runs_the_cli() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-m", "service.cli", "--help"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "Usage" in out.stdout and "serve" in out.stdout, out
