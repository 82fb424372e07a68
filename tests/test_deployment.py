"""docker-compose.yml cannot run here (no Docker engine), so check it against the code it deploys."""

from __future__ import annotations

import re
from pathlib import Path

from service.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_compose_settings_exist_and_postgres_matches_make() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    names = set(re.findall(r"^\s+BAUSTELLEN_([A-Z_]+):", compose, flags=re.M))
    assert names, "compose sets no BAUSTELLEN_ variables"
    unknown = {n for n in names if n.lower() not in Settings.model_fields}
    assert not unknown, f"compose sets variables Settings does not know: {unknown}"
    image = re.search(r"image:\s*postgis/postgis:(\d+)-", compose)
    assert image is not None
    setup = (ROOT / "scripts" / "ensure-postgis.sh").read_text()
    assert "postgis-3" in setup and image.group(1) == "15"  # Debian bookworm's PostgreSQL is 15
    assert "baustellen worker" in (ROOT / "Makefile").read_text() and '"worker"' in compose


def test_ci_runs_the_readme_test_command() -> None:
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make run" in (ROOT / "README.md").read_text()


def test_compose_names_no_mail_relay_or_address_it_does_not_have() -> None:
    """The compose file defaulted BAUSTELLEN_SMTP_HOST to a `mail` service it does not define and PUBLIC_URL to
    localhost (links in every mail): both must be set, and every host a setting names is a service of the file."""
    import yaml

    compose = (ROOT / "docker-compose.yml").read_text()
    services = set(yaml.safe_load(compose)["services"])
    for name in ("SMTP_HOST", "PUBLIC_URL"):
        value = re.search(rf"^\s+BAUSTELLEN_{name}:\s*(.+)$", compose, flags=re.M).group(1)
        assert value.startswith(f"${{BAUSTELLEN_{name}:?"), f"BAUSTELLEN_{name} must be required: {value}"
    assert "BAUSTELLEN_SMTP_HOST=mailpit" in compose and "mailpit" in services  # the documented trial relay
    for url_host in re.findall(r"@([a-z][\w-]*):\d+/", compose):  # the database URL's host
        assert url_host in services


def test_the_image_runs_the_commands_from_the_project_directory() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^WORKDIR /app$", dockerfile, flags=re.M)
    assert re.search(r"^ENV BAUSTELLEN_PROJECT_DIR=/app$", dockerfile, flags=re.M)
    for needed in ("alembic.ini", "migrations", "examples"):
        assert re.search(rf"^COPY .*\b{needed}\b", dockerfile, flags=re.M), needed


def test_an_installed_package_migrates_from_the_project_directory(database_url: str, tmp_path: Path) -> None:
    """What the Docker image does: `service` from site-packages (`pip install .`, no source tree next to it),
    run in /app that holds alembic.ini, migrations/ and examples/. `db upgrade` used to look for them in
    site-packages ("Path doesn't exist: .../site-packages/migrations")."""
    import os
    import shutil
    import subprocess
    import sys

    from service.kit.db import temporary_database

    site, app = tmp_path / "site-packages", tmp_path / "app"
    shutil.copytree(ROOT / "service", site / "service", ignore=shutil.ignore_patterns("__pycache__"))
    app.mkdir()
    for name in ("alembic.ini", "migrations", "examples"):
        (app / name).symlink_to(ROOT / name)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BAUSTELLEN_PROJECT_DIR")}

    def baustellen(*args: str) -> subprocess.CompletedProcess[str]:
        script = (f"import sys; sys.path.insert(0, {str(site)!r}); import service; "
                  f"assert service.__file__.startswith({str(site)!r}), service.__file__; "
                  "from service.cli import app; app()")  # -P: not the checkout in the working directory
        return subprocess.run([sys.executable, "-P", "-c", script, *args], cwd=app, env=env, capture_output=True,
                              text=True, timeout=120)

    with temporary_database(database_url, "baustellen_installed", migrate=False) as url:
        env["BAUSTELLEN_DATABASE_URL"] = url
        upgraded = baustellen("db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert "database at head" in upgraded.stderr
        listed = baustellen("org", "list")
        assert listed.returncode == 0, listed.stderr
    examples = subprocess.run(
        [sys.executable, "-P", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); "
         "from service.settings import Settings; print(Settings().examples_dir)"],
        cwd=app, env=env, capture_output=True, text=True, timeout=60)
    assert examples.stdout.strip() == str(app / "examples"), examples
