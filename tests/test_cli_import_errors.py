"""A file the CLI cannot read or write is refused in one line (``error: …``, exit 2), never with a traceback:
``import karlsruhe`` with a missing, unreadable or non-FeatureCollection file, ``conflicts report --geojson``
into a missing directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app as cli


@pytest.fixture
def refused(clean_database, database_url, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)

    def _refused(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args))
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.output
        return lines[0]

    return _refused


@pytest.mark.parametrize("target", ["/nonexistent/x.geojson", "dir"])
def test_conflicts_report_refuses_a_geojson_path_it_cannot_write(refused, tmp_path, target) -> None:  # noqa: ANN001
    path = tmp_path if target == "dir" else Path(target)
    line = refused("conflicts", "report", "--geojson", str(path))
    why = "is a directory, not a file" if target == "dir" else "no such directory /nonexistent"
    assert line == f"error: --geojson {path}: {why}"


@pytest.mark.parametrize(("content", "why"), [
    (None, "no such file"),
    ("dir", "is a directory, not a file"),
    ('{"type": "FeatureCollection", "features": [', "not valid JSON"),
    ('{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON FeatureCollection (found 'Feature')"),
    ("[1, 2]", "not a GeoJSON FeatureCollection (found 'list')"),
])
def test_import_karlsruhe_refuses_a_bad_file_in_one_line(refused, tmp_path, content, why) -> None:  # noqa: ANN001
    path = tmp_path / "sites.geojson"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content, "utf-8")
    assert refused("import", "karlsruhe", str(path)).startswith(f"error: {path}: {why}")
