"""The ``baustellen`` CLI against a real database (committed data, emptied after each test)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.app import create_app
from service.cli import app as cli
from service.requests.models import SiteRequest
from service.settings import Settings

KARLSRUHE = Settings().shared_data_dir / "real" / "karlsruhe" / "sites.geojson"


@pytest.fixture
def run(clean_database, database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    runner = CliRunner()

    def _run(*args: str) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout.strip()

    return _run


def test_org_and_key_from_the_cli_open_the_api(run, settings) -> None:  # noqa: ANN001
    org_id = uuid.UUID(run("org", "create", "--name", "Stadt Bochum – Tiefbauamt", "--kind", "city"))
    key = run("key", "create", "--org", str(org_id), "--role", "submitter")
    assert key.startswith("bst_")
    with TestClient(create_app(settings)) as client:
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == 200
        assert me.json()["organisation"]["id"] == str(org_id)
        assert me.json()["role"] == "submitter"


def test_org_create_refuses_unknown_kind(clean_database, database_url, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["org", "create", "--name", "X", "--kind", "pirates"])
    assert result.exit_code != 0


def test_import_karlsruhe_repairs_and_maps_the_real_data(run, engine) -> None:  # noqa: ANN001
    run("import", "karlsruhe", str(KARLSRUHE))
    with Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(SiteRequest))
        repaired = session.scalars(select(SiteRequest).where(func.jsonb_array_length(SiteRequest.geometry_notes) > 0))
        repaired = list(repaired)
        kinds = dict(session.execute(select(SiteRequest.kind, func.count()).group_by(SiteRequest.kind)).all())
        impacts = dict(session.execute(select(SiteRequest.impact, func.count()).group_by(SiteRequest.impact)).all())
        invalid = session.scalar(
            select(func.count()).select_from(SiteRequest).where(~func.ST_IsValid(SiteRequest.geom))
        )
    assert total == 368
    assert len(repaired) == 18  # 14 invalid as published, 4 GeometryCollections merged
    assert all("repaired" in n or "GeometryCollection" in n for r in repaired for n in r.geometry_notes)
    assert invalid == 0
    assert kinds["power"] + kinds["telecom"] == 115 + 1  # "Strom bzw. TK-Versorgung" + "Leitungsarbeiten"
    assert kinds["telecom"] == 55  # the "Telekommunikation" owner
    assert kinds["district_heating"] == 49
    assert impacts == {"lane_reduction": 237, "full_closure": 104, "footway": 27}
    # a second import finds everything there already
    run("import", "karlsruhe", str(KARLSRUHE))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(SiteRequest)) == 368
