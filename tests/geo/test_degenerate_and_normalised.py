"""Geometries the output would collapse are refused in plain words: a line shorter than ``min_line_m``, an area
under ``min_area_m2``, a line whose positions are all one (GEOS says only "Too few points"), anything the output's
7 decimals (``ST_AsGeoJSON(geom, 7)``) make invalid. What passes is normalised as RFC 7946 (3.1.6) wants it output:
exterior rings counter-clockwise, holes clockwise, no repeated consecutive positions. The parts of a Multi*
works geometry must lie together (``max_extent_km``)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from service.geo import GeometryError, GeometryLimits, validate_geojson

MM_LINE = {"type": "LineString", "coordinates": [[7.1, 51.5], [7.10000001, 51.5]]}  # 0.7 mm
SLIVER = {"type": "Polygon", "coordinates": [[[7.1, 51.5], [7.10000002, 51.5], [7.10000002, 51.6], [7.1, 51.6],
                                              [7.1, 51.5]]]}  # 1.4 mm wide, 11 km long: 15 m²
CW = [[7.0, 51.44], [7.0, 51.441], [7.001, 51.441], [7.001, 51.44], [7.0, 51.44]]  # clockwise
HOLE_CCW = [[7.0002, 51.4402], [7.0008, 51.4402], [7.0008, 51.4408], [7.0002, 51.4408], [7.0002, 51.4402]]


def rounded(geom: BaseGeometry) -> BaseGeometry:
    """As the output writes it: ``ST_AsGeoJSON(geom, 7)``."""
    return shapely.transform(geom, lambda xy: np.round(xy, 7))


def _refused(geometry: dict, **kwargs: object) -> GeometryError:
    with pytest.raises(GeometryError) as exc:
        validate_geojson(geometry, **kwargs)  # type: ignore[arg-type]
    return exc.value


@pytest.mark.parametrize(("geometry", "message"), [
    (MM_LINE, "the line is less than 0.01 m long; a line must be at least 0.5 m long (send a Point for works at one "
              "place)"),
    ({"type": "LineString", "coordinates": [[7.1, 51.5], [7.1000025, 51.5]]}, "the line is 0.17 m long"),
    ({"type": "MultiLineString", "coordinates": [[[7.1, 51.5], [7.100002, 51.5]], [[7.2, 51.5], [7.200002, 51.5]]]},
     "the lines are together 0.28 m long"),
    ({"type": "Polygon", "coordinates": [[[7.1, 51.5], [7.100005, 51.5], [7.100005, 51.500005], [7.1, 51.500005],
                                          [7.1, 51.5]]]},
     "the polygon has an area of 0.19 m²; an area must have at least 0.5 m²"),
    (SLIVER, "the polygon collapses or becomes invalid when its coordinates are rounded to 7 decimals (about 1 cm), "
             "as the service publishes them: make it larger than that"),
    ({"type": "MultiLineString", "coordinates": [[[7.1, 51.5], [7.2, 51.5]], MM_LINE["coordinates"]]},
     "line 1 collapses or becomes invalid when its coordinates are rounded to 7 decimals"),
    ({"type": "LineString", "coordinates": [[7.1, 51.5], [7.1, 51.5]]},
     "the line has all its positions at one place; a line needs two different positions"),
    ({"type": "MultiLineString", "coordinates": [[[7.1, 51.5], [7.2, 51.5]], [[7.1, 51.5], [7.1, 51.5], [7.1, 51.5]]]},
     "line 1 has all its positions at one place"),
    ({"type": "Polygon", "coordinates": [[[7.1, 51.5], [7.2, 51.6], [7.1, 51.5], [7.1, 51.5]]]},
     "the polygon ring 0 encloses no area: it needs at least three different positions"),
], ids=["0.7mm-line", "17cm-line", "two-short-lines", "0.19m2-square", "2e-8-degree-sliver", "collapsing-part",
        "zero-length-line", "zero-length-part", "two-position-ring"])
def test_degenerate_geometries_are_refused_in_plain_words(geometry, message) -> None:  # noqa: ANN001
    error = _refused(geometry)
    assert message in error.detail
    assert "Too few points" not in error.detail and "geometry component" not in error.detail
    assert error.location is not None


def test_what_passes_survives_the_output_rounding() -> None:
    for geometry in ({"type": "LineString", "coordinates": [[7.1, 51.5], [7.100008, 51.5]]},  # 0.56 m
                     {"type": "Polygon", "coordinates": [[[7.1, 51.5], [7.100012, 51.5], [7.100012, 51.500008],
                                                          [7.1, 51.500008], [7.1, 51.5]]]}):  # 0.74 m²
        valid = validate_geojson(geometry).geometry
        assert rounded(valid).is_valid and not rounded(valid).is_empty


def test_a_collapsed_part_of_published_data_is_repaired_away() -> None:
    """Imports of published data (``repair=True``) drop a zero-length part (make_valid) and keep the rest."""
    lines = {"type": "MultiLineString", "coordinates": [[[7.1, 51.5], [7.2, 51.5]], [[7.1, 51.6], [7.1, 51.6]]]}
    valid = validate_geojson(lines, repair=True)
    assert valid.geometry.geom_type in ("LineString", "MultiLineString") and valid.repaired
    assert rounded(valid.geometry).is_valid
    with pytest.raises(GeometryError, match="the line has all its positions at one place"):
        validate_geojson({"type": "LineString", "coordinates": [[7.1, 51.5], [7.1, 51.5]]}, repair=True)


def test_rings_are_stored_counter_clockwise_with_clockwise_holes() -> None:
    hole_cw = list(reversed(HOLE_CCW))
    for exterior, hole in ((CW, HOLE_CCW), (list(reversed(CW)), hole_cw)):
        geom = validate_geojson({"type": "Polygon", "coordinates": [exterior, hole]}).geometry
        assert isinstance(geom, Polygon)
        assert geom.exterior.is_ccw and not geom.interiors[0].is_ccw
        assert geom.equals(Polygon(CW, [HOLE_CCW]))  # the same area
    multi = validate_geojson({"type": "MultiPolygon", "coordinates": [[CW], [[[x + 0.01, y] for x, y in CW]]]})
    assert all(p.exterior.is_ccw for p in multi.geometry.geoms)


def test_repeated_consecutive_positions_are_dropped() -> None:
    line = validate_geojson({"type": "LineString", "coordinates": [[7.0, 51.44], [7.0, 51.44], [7.001, 51.44],
                                                                   [7.001, 51.44], [7.002, 51.441]]}).geometry
    assert shapely.get_coordinates(line).tolist() == [[7.0, 51.44], [7.001, 51.44], [7.002, 51.441]]
    ring = [CW[0], CW[0], *CW[1:]]
    poly = validate_geojson({"type": "Polygon", "coordinates": [ring]}).geometry
    assert len(poly.exterior.coords) == 5 and poly.exterior.is_ccw


AACHEN_GOERLITZ = {"type": "MultiPolygon", "coordinates": [
    [[[6.08, 50.77], [6.081, 50.77], [6.081, 50.771], [6.08, 50.771], [6.08, 50.77]]],
    [[[14.98, 51.15], [14.981, 51.15], [14.981, 51.151], [14.98, 51.151], [14.98, 51.15]]]]}


def test_the_parts_of_a_works_geometry_must_lie_together() -> None:
    capped = GeometryLimits(max_area_km2=25.0, max_line_km=50.0, max_extent_km=60.0)
    error = _refused(AACHEN_GOERLITZ, limits=capped)
    assert error.detail.startswith("the geometry spans 6")  # ~630 km
    assert ("km (the diagonal of its bounding box); at most 60 km are allowed: the parts of one site lie together "
            "(submit works far apart as requests of their own)") in error.detail
    for gtype in ("MultiLineString", "MultiPoint"):
        parts = [[[6.08, 50.77], [6.081, 50.77]], [[14.98, 51.15], [14.981, 51.15]]]
        geometry = {"type": gtype, "coordinates": parts if gtype == "MultiLineString" else [p[0] for p in parts]}
        assert "the geometry spans" in _refused(geometry, limits=capped).detail
    near = {"type": "MultiPoint", "coordinates": [[7.0, 51.44], [7.5, 51.6]]}  # about 38 km apart
    assert validate_geojson(near, limits=capped).geometry.geom_type == "MultiPoint"
    assert validate_geojson(AACHEN_GOERLITZ).geometry.geom_type == "MultiPolygon"  # no cap by default (rules)
