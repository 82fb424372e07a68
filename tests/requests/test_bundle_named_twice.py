"""``bundle_with`` naming a request twice is refused as ``after`` is (``bundle_with[1]``, "named twice"), on create,
change and import; nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from service.requests.models import SiteRequest
from tests.conftest import site_body


def _count(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def _named_twice(r, field: str = "bundle_with[1]") -> None:  # noqa: ANN001
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    error = r.json()["errors"][0]
    assert error["field"] == field, r.json()
    assert "named twice" in error["detail"], r.json()


def test_create_refuses_a_partner_named_twice(client, city, db) -> None:  # noqa: ANN001
    partner = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    before = _count(db)
    _named_twice(client.post("/v1/requests", json=site_body(bundle_with=[partner, partner]), headers=city.headers))
    assert _count(db) == before


def test_patch_refuses_a_partner_named_twice_even_when_already_bundled(client, city) -> None:  # noqa: ANN001
    partner = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    other = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    mine = client.post("/v1/requests", json=site_body(bundle_with=[partner]), headers=city.headers).json()
    url = f"/v1/requests/{mine['id']}"
    _named_twice(client.patch(url, json={"bundle_with": [partner, partner]}, headers={**city.headers, "If-Match": "*"}))
    _named_twice(client.patch(url, json={"bundle_with": [other, partner, other]},
                              headers={**city.headers, "If-Match": "*"}), "bundle_with[2]")
    got = client.get(url, headers=city.headers).json()
    assert got["bundle_with"] == [partner] and got["version"] == mine["version"]
    ok = client.patch(url, json={"bundle_with": [partner, other]}, headers={**city.headers, "If-Match": "*"})
    assert ok.status_code == 200 and ok.json()["bundle_with"] == [partner, other]


def test_import_refuses_a_partner_named_twice(client, city, db) -> None:  # noqa: ANN001
    partner = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    before = _count(db)
    body = site_body(bundle_with=[partner, partner])
    feature = {"type": "Feature", "geometry": body.pop("geometry"), "properties": body}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    assert r.status_code == 200, r.text
    (result,) = r.json()["results"]
    assert result["status"] == "refused"
    assert result["errors"][0]["field"] == "features[0].properties.bundle_with[1]"
    assert "named twice" in result["errors"][0]["detail"]
    assert _count(db) == before


def test_a_list_stored_twice_before_does_not_block_other_changes(client, city, db) -> None:  # noqa: ANN001
    partner = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    mine = client.post("/v1/requests", json=site_body(bundle_with=[partner]), headers=city.headers).json()
    db.get(SiteRequest, mine["id"]).bundle_with = [partner, partner]  # as stored before the rule
    db.flush()
    url = f"/v1/requests/{mine['id']}"
    r = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200, r.text
    _named_twice(client.patch(url, json={"bundle_with": [partner, partner, partner]},
                              headers={**city.headers, "If-Match": "*"}))
    fixed = client.patch(url, json={"bundle_with": [partner]}, headers={**city.headers, "If-Match": "*"})
    assert fixed.status_code == 200 and fixed.json()["bundle_with"] == [partner]
