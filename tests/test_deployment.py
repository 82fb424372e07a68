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
