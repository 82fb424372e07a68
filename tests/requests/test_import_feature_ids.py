"""An import's Feature `id` is the request's external id when the properties name none, so a retried import
stores nothing twice; a feature refused because its external id is stored already names the stored request
(`existing_id`), as the 409 of a single POST does."""

from __future__ import annotations

from tests.conftest import site_body


def _feature(fid: object = None, **overrides: object) -> dict:
    body = site_body(**overrides)
    geometry = body.pop("geometry")
    body.pop("external_id")
    if "props_external_id" in overrides:
        body["external_id"] = body.pop("props_external_id")
    feature = {"type": "Feature", "geometry": geometry, "properties": body}
    if fid is not None:
        feature["id"] = fid
    return feature


def test_a_feature_id_is_the_external_id_and_a_retry_returns_the_stored_ids(client, city) -> None:  # noqa: ANN001
    fc = {"type": "FeatureCollection", "features": [_feature("CITY-49c9b"), _feature(4711)]}
    first = client.post("/v1/requests/import", json=fc, headers=city.headers)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["status"] for r in results] == ["stored", "stored"], results
    assert [r["external_id"] for r in results] == ["CITY-49c9b", "4711"]
    stored = [r["id"] for r in results]
    assert client.get(f"/v1/requests/{stored[1]}", headers=city.headers).json()["external_id"] == "4711"

    retry = client.post("/v1/requests/import", json=fc, headers=city.headers)
    assert retry.status_code == 200, retry.text
    report = retry.json()
    assert (report["stored"], report["existing"], report["refused"]) == (0, 2, 0)  # stored before, same content
    assert [r["status"] for r in report["results"]] == ["existing", "existing"]
    assert [r["existing_id"] for r in report["results"]] == stored
    assert [r["errors"] for r in report["results"]] == [[], []]
    # nothing stored twice
    mine = client.get("/v1/requests", params={"owner": str(city.org_id)}, headers=city.headers).json()
    assert len(mine["features"]) == 2


def test_a_feature_id_differing_from_properties_external_id_is_refused(client, city) -> None:  # noqa: ANN001
    fc = {"type": "FeatureCollection", "features": [
        _feature("CITY-1", props_external_id="CITY-2"), _feature("CITY-3", props_external_id=" CITY-3 "),
        _feature({"no": "object"})]}
    r = client.post("/v1/requests/import", json=fc, headers=city.headers)
    assert r.status_code == 200, r.text
    first, same, bad = r.json()["results"]
    assert first["status"] == "refused" and first["errors"][0]["field"] == "features[0].id", first
    assert same["status"] == "stored" and same["external_id"] == "CITY-3", same
    assert bad["status"] == "refused" and bad["errors"][0]["field"] == "features[2].id", bad


def test_a_properties_external_id_already_stored_names_the_stored_request(client, city) -> None:  # noqa: ANN001
    single = client.post("/v1/requests", json=site_body(external_id="EB-9"), headers=city.headers).json()
    fc = {"type": "FeatureCollection", "features": [_feature(props_external_id="EB-9", duration_days=61)]}
    r = client.post("/v1/requests/import", json=fc, headers=city.headers)
    (result,) = r.json()["results"]
    assert result["status"] == "refused" and result["existing_id"] == single["id"], result
    assert result["errors"][0]["field"] == "features[0].properties.external_id"
    # within one atomic import, a duplicate of a feature that is rolled back names nothing
    fc = {"type": "FeatureCollection", "features": [_feature("X-1"), _feature("X-1")]}
    atomic = client.post("/v1/requests/import", params={"atomic": "true"}, json=fc, headers=city.headers)
    assert atomic.status_code == 422
    assert [x["existing_id"] for x in atomic.json()["report"]["results"]] == [None, None]


def test_the_import_is_documented_to_return_existing_ids(client) -> None:  # noqa: ANN001
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/v1/requests/import"]["post"]
    assert "existing_id" in op["description"] and "features[i].id" in op["description"]
    assert "existing_id" in spec["components"]["schemas"]["ImportResult"]["properties"]
