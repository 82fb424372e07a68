"""The length cap of works lines (``GeometryLimits.max_line_km``), measured in EPSG:25832."""

from __future__ import annotations

import pytest
from shapely.geometry import LineString

from service.geo import GeometryError, GeometryLimits, to_metric, validate_geojson


def east_of(lon: float, lat: float, km: float) -> float:
    """The longitude east of ``lon`` at which a straight line from ``lon`` is ``km`` long in EPSG:25832."""
    lo, hi = lon, lon + 5.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if to_metric(LineString([(lon, lat), (mid, lat)])).length / 1000 < km:
            lo = mid
        else:
            hi = mid
    return lo


def line(km: float) -> dict:
    return {"type": "LineString", "coordinates": [[7.0, 51.44], [east_of(7.0, 51.44, km), 51.44]]}


CAPPED = GeometryLimits(max_line_km=50.0)


def test_a_line_just_under_the_cap_passes_and_just_over_is_refused() -> None:
    assert validate_geojson(line(49.9), limits=CAPPED).geometry.geom_type == "LineString"
    with pytest.raises(GeometryError, match=r"the line is 50\.1 km long; at most 50 km are allowed"):
        validate_geojson(line(50.1), limits=CAPPED)


def test_the_parts_of_a_multilinestring_count_together() -> None:
    a, b = line(30.0)["coordinates"], line(30.0)["coordinates"]
    b = [[x, y + 0.05] for x, y in b]  # a parallel trench 5.5 km further north
    with pytest.raises(GeometryError, match=r"the lines are together 60\.0 km long"):
        validate_geojson({"type": "MultiLineString", "coordinates": [a, b]}, limits=CAPPED)
    assert validate_geojson({"type": "MultiLineString", "coordinates": [a, b]},
                            limits=GeometryLimits(max_line_km=60.5)).geometry.geom_type == "MultiLineString"


def test_without_a_cap_lines_may_run_far_and_areas_are_not_measured_as_lines() -> None:
    far = {"type": "LineString", "coordinates": [[6.0, 51.0], [9.0, 52.0]]}  # about 240 km
    assert validate_geojson(far).geometry.length > 0  # the default limits have no line cap (routes, corridors)
    with pytest.raises(GeometryError, match="km long"):
        validate_geojson(far, limits=CAPPED)
    # a polygon's boundary may be longer than the cap: only its area is capped
    ring = [[7.0, 51.44], [east_of(7.0, 51.44, 30.0), 51.44], [east_of(7.0, 51.44, 30.0), 51.4405],
            [7.0, 51.4405], [7.0, 51.44]]
    assert validate_geojson({"type": "Polygon", "coordinates": [ring]}, limits=CAPPED).geometry.area > 0
