"""OGC API Features, query parameters: one the items endpoints do not define answers 400
(/req/core/query-param-unknown), a value they cannot use 400 too (/req/core/query-param-invalid), problem details
naming the parameter. Part 2 is not implemented: `crs` and `bbox-crs` are refused, never read as CRS84."""

from __future__ import annotations

import pytest

from tests.map.helpers import add_site

PROBLEM = "application/problem+json"
ITEMS = "/ogc/collections/sites/items"


def _refused(r, field: str, contains: str = "") -> dict:  # noqa: ANN001
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == 400 and body["errors"][0]["field"] == field, body
    assert contains in body["errors"][0]["detail"], body
    return body


def test_an_unknown_parameter_answers_400(client, city, db) -> None:  # noqa: ANN001
    fid = str(add_site(db, city.org_id).id)
    _refused(client.get(ITEMS, params={"foo": "1"}), "foo", "unknown query parameter")
    _refused(client.get(ITEMS, params={"stauts": "approved"}), "stauts")  # a typo is not "no filter"
    # the defined ones still work, `f` (GeoJSON) included
    ok = client.get(ITEMS, params={"limit": 5, "offset": 0, "bbox": "6.9,51.4,7.1,51.5", "f": "json"})
    assert ok.status_code == 200 and fid in {f["id"] for f in ok.json()["features"]}
    _refused(client.get(ITEMS, params={"f": "html"}), "f")
    # a single item (no filters) refuses what would change its coordinates or encoding
    assert client.get(f"{ITEMS}/{fid}", params={"f": "geojson"}).status_code == 200
    _refused(client.get(f"{ITEMS}/{fid}", params={"crs": "http://www.opengis.net/def/crs/EPSG/0/25832"}), "crs")
    _refused(client.get(f"{ITEMS}/{fid}", params={"f": "html"}), "f")


@pytest.mark.parametrize("name", ["crs", "bbox-crs"])
def test_crs_parameters_are_refused_not_ignored(client, name) -> None:  # noqa: ANN001
    r = client.get(ITEMS, params={name: "http://www.opengis.net/def/crs/EPSG/0/25832",
                                  "bbox": "360000,5700000,370000,5710000"})
    _refused(r, name, "CRS84")
    assert "content-crs" not in r.headers


@pytest.mark.parametrize(("params", "field"), [
    ({"bbox": "360000,5700000,370000,5710000"}, "bbox"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"datetime": "soon"}, "datetime"),
    ({"limit": "0"}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"status": "bogus"}, "status"),
    ({"site": "not-a-uuid"}, "site"),
])
def test_an_invalid_value_answers_400(client, params, field) -> None:  # noqa: ANN001
    _refused(client.get(ITEMS, params=params), field)


def test_the_v1_lists_keep_their_422(client, city) -> None:  # noqa: ANN001
    r = client.get("/v1/requests", params={"foo": "1"}, headers=city.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "foo", r.text
