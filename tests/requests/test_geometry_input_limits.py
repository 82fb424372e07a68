"""Geometry input through the API: degenerate works geometries answer 422 naming the field in plain words; rings are
stored and returned counter-clockwise (RFC 7946 3.1.6), so a PATCH that only reverses a ring changes nothing; the
parts of a works geometry may not lie far apart (``BAUSTELLEN_MAX_EXTENT_KM``), a route's may; a swapped ``bbox``
is refused with a hint; an import feature refused for its ``crs`` still reports its external id."""

from __future__ import annotations

from sqlalchemy import func, select

from service.requests.models import SiteRequest
from tests.conftest import site_body

CW = [[7.0, 51.44], [7.0, 51.441], [7.001, 51.441], [7.001, 51.44], [7.0, 51.44]]
CCW = list(reversed(CW))
UTM = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}


def _count(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def _error(r) -> dict:  # noqa: ANN001
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()["errors"][0]


def test_degenerate_works_geometries_are_refused_naming_the_field(client, city, db) -> None:  # noqa: ANN001
    mm = {"type": "LineString", "coordinates": [[7.1, 51.5], [7.10000001, 51.5]]}
    error = _error(client.post("/v1/requests", json=site_body(geometry=mm), headers=city.headers))
    assert error["field"] == "geometry"
    assert error["detail"].startswith("the line is less than 0.01 m long; a line must be at least 0.5 m long")
    zero = {"type": "LineString", "coordinates": [[7.1, 51.5], [7.1, 51.5]]}
    error = _error(client.post("/v1/requests", json=site_body(geometry=zero), headers=city.headers))
    assert error["field"] == "geometry" and "Too few points" not in error["detail"]
    assert error["detail"].startswith("the line has all its positions at one place")
    sliver = {"type": "Polygon", "coordinates": [[[7.1, 51.5], [7.10000002, 51.5], [7.10000002, 51.6],
                                                  [7.1, 51.6], [7.1, 51.5]]]}
    error = _error(client.post("/v1/requests", json=site_body(geometry=sliver), headers=city.headers))
    assert error["field"] == "geometry" and "collapses or becomes invalid when its coordinates are rounded" in (
        error["detail"])
    error = _error(client.post("/v1/requests", json=site_body(diversions=[mm]), headers=city.headers))
    assert error["field"] == "diversions[0]" and "a line must be at least 0.5 m long" in error["detail"]
    assert _count(db) == 0


def test_rings_are_returned_counter_clockwise_and_a_reversed_ring_is_no_change(client, city, db) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(geometry={"type": "Polygon", "coordinates": [CW]}),
                          headers=city.headers)
    assert created.status_code == 201, created.text
    ring = created.json()["geometry"]["coordinates"][0]
    assert ring == CCW  # counter-clockwise, as GET, the list and the feeds give it
    listed = client.get("/v1/requests", headers=city.headers).json()["features"][0]["geometry"]
    assert listed["coordinates"][0] == CCW
    url = created.headers["location"]
    for geometry in ({"type": "Polygon", "coordinates": [CW]},  # sent clockwise again
                     {"type": "Polygon", "coordinates": [[CW[0], *CW]]}):  # with a repeated position
        r = client.patch(url, json={"geometry": geometry}, headers={**city.headers, "If-Match": '"v1"'})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"v1"', "the same polygon: no new version"
        assert r.json()["updated_at"] == created.json()["updated_at"]


def test_the_parts_of_a_works_geometry_lie_together_but_a_route_may_run_far(client, city, db, settings) -> None:  # noqa: ANN001
    aachen_goerlitz = {"type": "MultiPoint", "coordinates": [[6.08, 50.77], [14.98, 51.15]]}
    error = _error(client.post("/v1/requests", json=site_body(geometry=aachen_goerlitz), headers=city.headers))
    assert error["field"] == "geometry"
    assert error["detail"].startswith("the geometry spans 6") and (
        f"at most {settings.max_extent_km:g} km are allowed" in error["detail"])
    far_route = {"type": "MultiLineString", "coordinates": [[[7.0, 51.44], [7.01, 51.44]],
                                                            [[7.9, 51.6], [7.91, 51.6]]]}  # ~70 km apart
    created = client.post("/v1/requests", json=site_body(diversions=[far_route]), headers=city.headers)
    assert created.status_code == 201, created.text


def test_a_swapped_bbox_is_refused_with_a_hint(client, city) -> None:  # noqa: ANN001
    error = _error(client.get("/v1/requests?bbox=51.4,7.0,51.6,7.9", headers=city.headers))
    assert error["field"] == "bbox"
    assert error["detail"] == ("51.4,7.0,51.6,7.9 lies outside the service area 5.86,47.27,15.05,55.06; it looks "
                               "like lat/lon: the order is minlon,minlat,maxlon,maxlat (7.0,51.4,7.9,51.6)")
    assert client.get("/v1/requests?bbox=7.0,51.4,7.9,51.6", headers=city.headers).status_code == 200
    assert client.get("/v1/requests?bbox=2.2,48.8,2.4,48.9", headers=city.headers).status_code == 200  # Paris


def test_an_import_feature_refused_for_its_crs_reports_its_external_id(client, city, db) -> None:  # noqa: ANN001
    body = site_body()
    feature = {"type": "Feature", "crs": UTM, "geometry": body.pop("geometry"),
               "properties": {**body, "external_id": "EB-CRS-1"}}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["status"] == "refused" and result["errors"][0]["field"] == "features[0].crs"
    assert result["external_id"] == "EB-CRS-1"
    assert _count(db) == 0
