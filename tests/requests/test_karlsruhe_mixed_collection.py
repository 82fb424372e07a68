"""A published GeometryCollection that mixes areas with lines is stored as one area that keeps the lines (widened
by ``karlsruhe.STRIP_HALF_WIDTH_M`` on each side), not only its areas: site 2024V5097 (Telekom) is a 2,031 m trench
line plus two pits of 3.1 and 1.1 m²; stored as its pits alone (4.2 m²) it missed its neighbours along the line.
A feature, GeometryCollection or file naming a ``crs`` other than WGS84 is refused, as by ``POST /v1/requests/import``.

The features are read from ``real/karlsruhe/sites.geojson`` in the shared data, as the other Karlsruhe tests do:
Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import shapely
from geoalchemy2.shape import to_shape
from shapely.geometry import shape
from sqlalchemy import or_, select

from service.geo import to_metric
from service.requests import karlsruhe, loaders
from service.requests.models import SiteRequest
from service.settings import Settings

KARLSRUHE = Settings().shared_data_dir / "real" / "karlsruhe" / "sites.geojson"
EPSG = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}


def _features(*ids: str) -> list[dict[str, Any]]:
    """Real features by id (Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0)."""
    by_id = {f["properties"]["id"]: f for f in json.loads(KARLSRUHE.read_text("utf-8"))["features"]}
    return [copy.deepcopy(by_id[i]) for i in ids]


def _write(tmp_path: Path, features: list[Any], **members: Any) -> Path:
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "attribution": karlsruhe.ATTRIBUTION, **members,
                                "features": features}), "utf-8")
    return path


def _stored(db, external_id: str) -> SiteRequest:  # noqa: ANN001
    return db.scalars(select(SiteRequest).where(SiteRequest.external_id == external_id)).one()


def test_the_trench_line_of_2024v5097_is_kept_as_a_narrow_strip(db, settings, tmp_path) -> None:  # noqa: ANN001
    (telekom,) = _features("2024V5097")
    published = [shape(g) for g in telekom["geometry"]["geometries"]]
    assert [g.geom_type for g in published] == ["MultiLineString", "MultiPolygon", "MultiPolygon"]
    summary = loaders.load_karlsruhe(db, _write(tmp_path, [telekom]), settings)
    assert (summary.stored, summary.repaired, summary.refused) == (1, 1, [])
    req = _stored(db, "2024V5097")
    stored = to_metric(to_shape(req.geom))
    line, pits = to_metric(published[0]), [to_metric(g) for g in published[1:]]
    half = karlsruhe.STRIP_HALF_WIDTH_M
    # the stored area covers every published part (1 cm for the round trip through WGS84)...
    for part in [line, *pits]:
        assert stored.buffer(0.01).covers(part)
    # ...and reaches no further from them than the strip's half width: a narrow strip, not a blob
    assert shapely.union_all([line.buffer(half + 0.01), *(pit.buffer(0.01) for pit in pits)]).covers(stored)
    assert 2031 * 2 * half * 0.95 < stored.area < 2031 * 2 * half + 10  # ~1 m wide along 2,031 m (was 4.2 m²)
    assert req.geometry_notes == [
        "GeometryCollection as published, stored as one area: its 1 line (2,031 m) widened by 0.5 m on each side, "
        "merged with its 2 areas as published"]


def test_a_site_8_8_m_from_the_trench_line_conflicts_with_it(db, settings, tmp_path) -> None:  # noqa: ANN001
    telekom, stadtwerke = _features("2024V5097", "2026V4877")
    line = to_metric(shape(telekom["geometry"]["geometries"][0]))
    assert 8.7 < to_metric(shape(stadtwerke["geometry"])).distance(line) < 8.9  # as published
    loaders.load_karlsruhe(db, _write(tmp_path, [telekom, stadtwerke]), settings)
    a, b = _stored(db, "2024V5097").id, _stored(db, "2026V4877").id
    from service.conflicts.models import Conflict

    pair = db.scalars(select(Conflict).where(or_(
        (Conflict.request_a == a) & (Conflict.request_b == b), (Conflict.request_a == b) & (Conflict.request_b == a),
    ))).all()
    assert len(pair) == 1 and pair[0].kind == "space" and pair[0].hard
    assert pair[0].distance_m == pytest.approx(8.8 - karlsruhe.STRIP_HALF_WIDTH_M, abs=0.1)


def test_collections_of_one_dimension_are_merged_as_before() -> None:
    lines = {"type": "GeometryCollection", "geometries": [
        {"type": "LineString", "coordinates": [[8.40, 49.00], [8.401, 49.00]]},
        {"type": "LineString", "coordinates": [[8.40, 49.001], [8.401, 49.001]]}]}
    geometry, note = karlsruhe._flatten_collection(lines)
    assert geometry["type"] == "MultiLineString"
    assert note == "GeometryCollection as published; its parts were merged"
    with_point = {**lines, "geometries": [*lines["geometries"], {"type": "Point", "coordinates": [8.402, 49.0]}]}
    geometry, note = karlsruhe._flatten_collection(with_point)
    assert geometry["type"] == "MultiPolygon"  # no area published: lines and the point become one
    assert note == ("GeometryCollection as published, stored as one area: its 2 lines (146 m) widened by 0.5 m on "
                    "each side and its 1 point widened to a disc of 0.5 m radius")


def test_a_crs_other_than_wgs84_is_refused_on_the_file_the_feature_and_the_collection(  # noqa: ANN001
        db, settings, tmp_path) -> None:
    features = _features("2024V5097", "2026V4877", "2026V4990")
    with pytest.raises(loaders.BadFile, match=r"sites\.geojson: crs: crs names 'urn:ogc:def:crs:EPSG::25832', but "
                                              r"coordinates must be WGS84 longitude/latitude \(RFC 7946\)"):
        loaders.count_features(_write(tmp_path, features, crs=EPSG))
    features[0]["geometry"]["crs"] = EPSG  # a GeometryCollection's crs: lost when it is merged, so judged first
    features[1]["crs"] = EPSG
    summary = loaders.load_karlsruhe(db, _write(tmp_path, features), settings)
    refused = dict(summary.refused)
    assert refused["2024V5097"].startswith("geometry.crs: crs names 'urn:ogc:def:crs:EPSG::25832'")
    assert refused["2026V4877"].startswith("crs: crs names 'urn:ogc:def:crs:EPSG::25832'")
    assert summary.stored == 1


def test_the_cli_refuses_a_file_naming_another_crs_in_one_line(clean_database, database_url, monkeypatch,  # noqa: ANN001
                                                               tmp_path) -> None:
    from typer.testing import CliRunner

    from service.cli import app as cli

    monkeypatch.setenv("BAUSTELLEN_DATABASE_URL", database_url)
    path = _write(tmp_path, _features("2026V4877"), crs=EPSG)
    result = CliRunner().invoke(cli, ["import", "karlsruhe", str(path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {path}: crs: crs names 'urn:ogc:def:crs:EPSG::25832', but coordinates must be WGS84 "
        "longitude/latitude (RFC 7946); GeoJSON has no crs member any more, leave it out"]
