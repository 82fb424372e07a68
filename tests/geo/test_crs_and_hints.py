"""RFC 7946 has no ``crs``: a geometry naming another CRS is refused (not read as WGS84), one naming WGS84 passes.
Coordinates in the wrong order or in UTM metres are refused with a hint at what they look like."""

from __future__ import annotations

import pytest

from service.geo import GeometryError, validate_geojson

POINT = [7.0001, 51.4402]


def named(name: str) -> dict:
    return {"type": "name", "properties": {"name": name}}


@pytest.mark.parametrize("crs", [
    named("urn:ogc:def:crs:EPSG::25832"), named("EPSG:25832"), named("urn:ogc:def:crs:EPSG::3857"),
    {"type": "link", "properties": {"href": "http://example.org/crs", "type": "proj4"}},
    {"type": "EPSG", "properties": {"code": 25832}}, "EPSG:25832", named(""), {"type": "name"},
])
def test_a_crs_other_than_wgs84_is_refused(crs) -> None:  # noqa: ANN001
    with pytest.raises(GeometryError, match=r"coordinates must be WGS84 longitude/latitude \(RFC 7946\)") as exc:
        validate_geojson({"type": "Point", "coordinates": POINT, "crs": crs})
    assert exc.value.member == "crs"


@pytest.mark.parametrize("crs", [
    named("urn:ogc:def:crs:OGC:1.3:CRS84"), named("urn:ogc:def:crs:OGC::CRS84"), named("urn:ogc:def:crs:EPSG::4326"),
    named("EPSG:4326"), named("http://www.opengis.net/def/crs/OGC/1.3/CRS84"),
    named("http://www.opengis.net/def/crs/EPSG/0/4326"), {"type": "EPSG", "properties": {"code": 4326}}, None,
])
def test_a_wgs84_crs_is_accepted_and_ignored(crs) -> None:  # noqa: ANN001
    valid = validate_geojson({"type": "Point", "coordinates": POINT, "crs": crs})
    assert (valid.geometry.x, valid.geometry.y) == tuple(POINT)


def test_utm_coordinates_get_a_hint() -> None:
    with pytest.raises(GeometryError) as exc:
        validate_geojson({"type": "LineString", "coordinates": [[362000, 5700000], [362100, 5700100]]})
    assert "outside the WGS84 range" in exc.value.detail
    assert "they look like ETRS89 / UTM 32N (EPSG:25832) metres; send WGS84 longitude/latitude" in exc.value.detail
    with pytest.raises(GeometryError) as far:  # not metres of the service area: no guess
        validate_geojson({"type": "Point", "coordinates": [362000, 100]})
    assert "EPSG:25832" not in far.value.detail


def test_swapped_coordinates_get_a_hint() -> None:
    with pytest.raises(GeometryError) as exc:
        validate_geojson({"type": "LineString", "coordinates": [[51.45, 7.01], [51.46, 7.02]]})
    assert "outside the service area" in exc.value.detail
    assert "the coordinates look like latitude, longitude; GeoJSON order is longitude, latitude" in exc.value.detail
    with pytest.raises(GeometryError) as paris:  # swapped it is not in the service area either: no guess
        validate_geojson({"type": "Point", "coordinates": [2.35, 48.85]})
    assert "latitude, longitude" not in paris.value.detail
