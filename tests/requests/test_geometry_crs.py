"""A request's geometry naming a CRS other than WGS84 is refused with ``geometry.crs`` (create, change, import,
routes), not stored as if it were longitude/latitude; a WGS84 ``crs`` is accepted and dropped."""

from __future__ import annotations

from sqlalchemy import func, select

from service.requests.models import SiteRequest
from tests.conftest import site_body

UTM = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}}
CRS84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
MESSAGE = "coordinates must be WGS84 longitude/latitude (RFC 7946)"


def _count(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def _refused(r, field: str) -> None:  # noqa: ANN001
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["field"] == field and MESSAGE in error["detail"], r.json()


def _with_crs(geometry: dict, crs: dict) -> dict:
    return {**geometry, "crs": crs}


def test_create_and_patch_refuse_another_crs(client, city, db) -> None:  # noqa: ANN001
    body = site_body()
    _refused(client.post("/v1/requests", json={**body, "geometry": _with_crs(body["geometry"], UTM)},
                         headers=city.headers), "geometry.crs")
    _refused(client.post("/v1/requests", json={**body, "diversions": [_with_crs(body["diversions"][0], UTM)]},
                         headers=city.headers), "diversions[0].crs")
    assert _count(db) == 0
    created = client.post("/v1/requests", json={**body, "geometry": _with_crs(body["geometry"], CRS84)},
                          headers=city.headers)
    assert created.status_code == 201, created.text
    assert "crs" not in created.json()["geometry"]
    url = f"/v1/requests/{created.json()['id']}"
    _refused(client.patch(url, json={"geometry": _with_crs(body["geometry"], UTM)},
                          headers={**city.headers, "If-Match": "*"}), "geometry.crs")
    assert client.get(url, headers=city.headers).json()["version"] == 1


def test_import_refuses_another_crs(client, city, db) -> None:  # noqa: ANN001
    body = site_body()
    feature = {"type": "Feature", "geometry": _with_crs(body.pop("geometry"), UTM), "properties": body}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["status"] == "refused"
    assert result["errors"][0]["field"] == "features[0].geometry.crs", result
    assert MESSAGE in result["errors"][0]["detail"]
    on_feature = {**feature, "geometry": site_body()["geometry"], "crs": UTM}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [on_feature]},
                    headers=city.headers)
    assert r.json()["results"][0]["errors"][0]["field"] == "features[0].crs", r.json()
    collection = {"type": "FeatureCollection", "crs": UTM,
                  "features": [{**feature, "geometry": site_body()["geometry"]}]}
    r = client.post("/v1/requests/import", json=collection, headers=city.headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "crs" and MESSAGE in r.json()["errors"][0]["detail"]
    assert _count(db) == 0


def test_utm_and_swapped_coordinates_keep_their_field_and_get_a_hint(client, city) -> None:  # noqa: ANN001
    utm = {"type": "LineString", "coordinates": [[362000, 5700000], [362100, 5700100]]}
    r = client.post("/v1/requests", json=site_body(geometry=utm), headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    assert "EPSG:25832" in r.json()["errors"][0]["detail"]
    swapped = {"type": "LineString", "coordinates": [[51.4402, 7.0001], [51.4371, 7.0012]]}
    r = client.post("/v1/requests", json=site_body(geometry=swapped), headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    assert "look like latitude, longitude" in r.json()["errors"][0]["detail"]


def test_a_zone_and_a_subscription_area_name_the_crs(client, coordinator) -> None:  # noqa: ANN001
    """The rules (zones, corridors, blackouts) and a subscription's area name the crs member too."""
    square = {"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.44], [7.01, 51.45], [7.0, 51.45],
                                                   [7.0, 51.44]]]}
    _refused(client.post("/v1/zones", json={"name": "Innenstadt", "capacity": 2,
                                            "geometry": _with_crs(square, UTM)}, headers=coordinator.headers),
             "geometry.crs")
    _refused(client.post("/v1/subscriptions", json={
        "email": "laden@example.org", "area": _with_crs(square, UTM), "kinds": [], "min_impact": None, "modes": [],
        "lead_days": 14, "delivery": "immediate", "language": "de", "webhooks": []}), "area.crs")
