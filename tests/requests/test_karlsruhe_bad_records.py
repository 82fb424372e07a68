"""The Karlsruhe import refuses a broken feature alone (by its id and why) and stores the others; a file that is
no FeatureCollection at all is refused as a whole with one sentence (``loaders.BadFile``), not a traceback.

The features are copied from ``real/karlsruhe/sites.geojson`` in the shared data: Datensatz „Baustellen“,
Stadt Karlsruhe, CC BY 4.0.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from service.requests import karlsruhe, loaders
from service.requests.models import SiteRequest
from service.settings import Settings

KARLSRUHE = Settings().shared_data_dir / "real" / "karlsruhe" / "sites.geojson"


def _three() -> list[dict[str, Any]]:
    """Three real features (Datensatz „Baustellen“, Stadt Karlsruhe, CC BY 4.0)."""
    return copy.deepcopy(json.loads(KARLSRUHE.read_text("utf-8"))["features"][:3])


def _write(tmp_path: Path, features: list[Any]) -> Path:
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "attribution": karlsruhe.ATTRIBUTION,
                                "features": features}), "utf-8")
    return path


def _stored(db) -> set[str]:  # noqa: ANN001
    return set(db.scalars(select(SiteRequest.external_id).where(SiteRequest.source == "karlsruhe")))


def _bis_null(p: dict) -> None:
    p["bis"] = None


def _no_von(p: dict) -> None:
    del p["von"]


def _german_date(p: dict) -> None:
    p["von"] = "02.08.2026"


def _von_number(p: dict) -> None:
    p["von"] = 20260802


def _modes_as_list(p: dict) -> None:
    p["verkehrsmittel"] = ["auto"]


def _art_as_list(p: dict) -> None:
    p["art"] = ["Kanalbau"]


def _long_owner(p: dict) -> None:
    p["verursacher"] = "Stadtwerke " * 30


@pytest.mark.parametrize(("breakage", "reason"), [
    (_bis_null, "bis: missing"),
    (_no_von, "von: missing"),
    (_german_date, "von: '02.08.2026' is not a date like 2026-08-31"),
    (_von_number, "von: 20260802 is not a date like 2026-08-31"),
    (_long_owner, "verursacher: longer than 188 characters"),
])
def test_a_broken_feature_is_refused_by_its_id_and_the_others_are_stored(db, settings, tmp_path, breakage,  # noqa: ANN001
                                                                          reason) -> None:
    features = _three()
    ids = [f["properties"]["id"] for f in features]
    breakage(features[1]["properties"])
    summary = loaders.load_karlsruhe(db, _write(tmp_path, features), settings)
    assert summary.refused == [(ids[1], reason)]
    assert summary.stored == 2
    assert _stored(db) == {ids[0], ids[2]}


@pytest.mark.parametrize("breakage", [_modes_as_list, _art_as_list])
def test_odd_optional_properties_fall_back_to_the_defaults(db, settings, tmp_path, breakage) -> None:  # noqa: ANN001
    features = _three()
    breakage(features[1]["properties"])
    summary = loaders.load_karlsruhe(db, _write(tmp_path, features), settings)
    assert (summary.stored, summary.refused) == (3, [])


def test_features_without_an_id_or_properties_are_refused_by_their_place(db, settings, tmp_path) -> None:  # noqa: ANN001
    features = _three()
    del features[0]["properties"]["id"]
    features[1]["properties"] = None
    empty_collection = copy.deepcopy(features[2])
    empty_collection["properties"]["id"] = "EMPTY-GC"
    empty_collection["geometry"] = {"type": "GeometryCollection", "geometries": []}
    summary = loaders.load_karlsruhe(db, _write(tmp_path, [*features, empty_collection, "Feature"]), settings)
    assert summary.stored == 1 and _stored(db) == {features[2]["properties"]["id"]}
    labels = dict(summary.refused)
    assert labels["features[0]"] == "id: missing"
    assert labels["features[1]"] == "properties: missing"
    assert labels["EMPTY-GC"].startswith("geometry: unreadable GeometryCollection")
    assert labels["features[4]"] == "not a GeoJSON Feature"


@pytest.mark.parametrize(("content", "why"), [
    (None, "no such file"),
    ("dir", "is a directory, not a file"),
    ('{"type": "FeatureCollection", "features": [', "not valid JSON (Expecting value at line 1, column 44)"),
    ('{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON FeatureCollection (found 'Feature')"),
    ("[1, 2]", "not a GeoJSON FeatureCollection (found 'list')"),
    ('{"type": "FeatureCollection", "features": {}}', "not a GeoJSON FeatureCollection (found 'FeatureCollection')"),
])
def test_a_file_that_is_no_feature_collection_is_refused_in_one_sentence(db, settings, tmp_path, content,  # noqa: ANN001
                                                                        why) -> None:
    path = tmp_path / "sites.geojson"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content, "utf-8")
    with pytest.raises(loaders.BadFile) as exc:
        loaders.count_features(path)
    assert str(exc.value).startswith(f"{path}: {why}")
    with pytest.raises(loaders.BadFile):
        loaders.load_karlsruhe(db, path, settings)
