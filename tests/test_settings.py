"""``Settings`` refuses values the service cannot run with, naming the environment variable in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service import settings as settings_module
from service.settings import Settings, SetupError, describe_settings_error, project_file


def refused(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(f"BAUSTELLEN_{name}", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    line = describe_settings_error(caught.value)
    assert "\n" not in line
    return line


def test_defaults_are_valid() -> None:
    Settings()


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("TIMEZONE", "Mars/Olympus", "BAUSTELLEN_TIMEZONE: unknown time zone 'Mars/Olympus'"),
    ("TIMEZONE", "../../etc/passwd", "BAUSTELLEN_TIMEZONE: unknown time zone"),
    ("WORKER_POLL_SECONDS", "-1", "BAUSTELLEN_WORKER_POLL_SECONDS: Input should be greater than 0 (got '-1')"),
    ("WORKER_POLL_SECONDS", "0", "BAUSTELLEN_WORKER_POLL_SECONDS: Input should be greater than 0"),
    ("SOLVER_TIME_LIMIT_S", "0", "BAUSTELLEN_SOLVER_TIME_LIMIT_S: Input should be greater than 0"),
    ("SOLVER_WORKERS", "1", "BAUSTELLEN_SOLVER_WORKERS: Input should be greater than or equal to 2"),
    ("DB_POOL_SIZE", "0", "BAUSTELLEN_DB_POOL_SIZE: Input should be greater than or equal to 1"),
    ("API_LOCK_TIMEOUT_MS", "-1", "BAUSTELLEN_API_LOCK_TIMEOUT_MS: Input should be greater than or equal to 0"),
    ("SMTP_PORT", "70000", "BAUSTELLEN_SMTP_PORT: Input should be less than or equal to 65535"),
    ("OWNER_ANSWER_DAYS", "-3", "BAUSTELLEN_OWNER_ANSWER_DAYS: Input should be greater than or equal to 1"),
    ("MAX_AREA_KM2", "nan", "BAUSTELLEN_MAX_AREA_KM2: Input should be greater than 0"),
    ("SERVICE_AREA", "7.9,51.2,6.4,51.8", "BAUSTELLEN_SERVICE_AREA: [7.9, 51.2, 6.4, 51.8] is not minlon,minlat"),
    ("SERVICE_AREA", "6.4,51.2,7.9,95", "BAUSTELLEN_SERVICE_AREA: [6.4, 51.2, 7.9, 95.0] is not minlon,minlat"),
    ("SERVICE_AREA", "[6.4, 51.2, 7.9]", "BAUSTELLEN_SERVICE_AREA: '[6.4, 51.2, 7.9]' is not 4 numbers"),
    ("CONFLICT_DISTANCE_M", '{"footway": -10}', "BAUSTELLEN_CONFLICT_DISTANCE_M: distances must be 0 or more"),
    ("PUBLIC_URL", "localhost:8000", "BAUSTELLEN_PUBLIC_URL: 'localhost:8000' is not an http(s) URL"),
    ("DATABASE_URL", "mysql://user@db/baustellen", "BAUSTELLEN_DATABASE_URL: the service needs PostgreSQL"),
])
def test_invalid_setting_is_named_in_one_line(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                              expected: str) -> None:
    line = refused(monkeypatch, **{name: value})
    assert line.startswith(expected), line
    assert "default factory" not in line  # the paths that follow project_dir are not blamed too


def test_a_database_url_with_a_password_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    line = refused(monkeypatch, DATABASE_URL="postgres ql://admin:s3cret@db/x")
    assert line.startswith("BAUSTELLEN_DATABASE_URL: not a database URL like") and "s3cret" not in line


def test_service_area_reads_a_bbox_or_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAUSTELLEN_SERVICE_AREA", "6.4, 51.2, 7.9, 51.8")
    assert Settings().service_area == (6.4, 51.2, 7.9, 51.8)
    monkeypatch.setenv("BAUSTELLEN_SERVICE_AREA", "[6.4, 51.2, 7.9, 51.8]")
    assert Settings().service_area == (6.4, 51.2, 7.9, 51.8)


def test_an_installed_package_finds_the_project_in_the_working_directory(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    """``pip install .`` puts the package into site-packages, where no alembic.ini, migrations/ or examples/ are:
    run from the project directory (the Docker image's /app), the commands find them there."""
    project = Path(__file__).resolve().parents[1]
    monkeypatch.setattr(settings_module, "REPO_ROOT", tmp_path / "site-packages")
    monkeypatch.chdir(project)
    found = Settings()
    assert found.project_dir == project and found.examples_dir == project / "examples"
    assert project_file(found, "migrations") == project / "migrations"
    monkeypatch.chdir(tmp_path)  # elsewhere: one clear line instead of alembic's "Path doesn't exist"
    with pytest.raises(SetupError, match="run baustellen from the project directory .* BAUSTELLEN_PROJECT_DIR"):
        project_file(Settings(), "alembic.ini")
    monkeypatch.setenv("BAUSTELLEN_PROJECT_DIR", str(project))
    assert project_file(Settings(), "alembic.ini") == project / "alembic.ini"
