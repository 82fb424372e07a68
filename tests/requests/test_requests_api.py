"""Site requests through the API against real PostGIS."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from service.requests.models import SiteRequest
from tests.conftest import site_body


def count(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def test_submit_read_and_list(client, city) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(), headers=city.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "submitted"
    assert created["owner"]["name"] == city.name
    assert created["geometry"]["type"] == "LineString"
    assert created["diversions"][0]["type"] == "LineString"
    assert r.headers["location"] == f"/v1/requests/{created['id']}"

    got = client.get(f"/v1/requests/{created['id']}", headers=city.headers)
    assert got.status_code == 200
    assert got.json()["contact"]["email"] == "bau@example.org"
    assert got.headers["etag"] == '"v1"'

    listed = client.get("/v1/requests", params={"bbox": "6.99,51.43,7.01,51.45"}, headers=city.headers)
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("application/geo+json")
    fc = listed.json()
    assert fc["type"] == "FeatureCollection"
    assert [f["id"] for f in fc["features"]] == [created["id"]]
    assert "contact" not in fc["features"][0]["properties"]

    elsewhere = client.get("/v1/requests", params={"bbox": "7.40,51.50,7.50,51.55"}, headers=city.headers)
    assert elsewhere.json()["features"] == []


def test_draft_status_and_filters(client, city) -> None:  # noqa: ANN001
    draft = client.post("/v1/requests", json=site_body(status="draft", kind="water"), headers=city.headers).json()
    assert draft["status"] == "draft"
    client.post("/v1/requests", json=site_body(kind="gas"), headers=city.headers)
    kinds = client.get("/v1/requests", params={"kind": "water"}, headers=city.headers).json()
    assert [f["properties"]["kind"] for f in kinds["features"]] == ["water"]
    drafts = client.get("/v1/requests", params={"status": "draft"}, headers=city.headers).json()
    assert [f["id"] for f in drafts["features"]] == [draft["id"]]
    later = client.get("/v1/requests", params={"start": "2028-01-01"}, headers=city.headers).json()
    assert later["features"] == []


def test_cursor_pagination_visits_each_request_once(client, city) -> None:  # noqa: ANN001
    ids = {client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"] for _ in range(5)}
    seen, url, params = [], "/v1/requests", {"limit": 2}
    while True:
        page = client.get(url, params=params, headers=city.headers).json()
        seen += [f["id"] for f in page["features"]]
        if not page["next_cursor"]:
            break
        params = {"limit": 2, "cursor": page["next_cursor"]}
    assert sorted(seen) == sorted(ids)


def test_next_link_uses_the_public_url_not_the_host_header(client, city, settings) -> None:  # noqa: ANN001
    for _ in range(3):
        client.post("/v1/requests", json=site_body(), headers=city.headers)
    page = client.get("/v1/requests", params={"limit": 2},
                      headers={**city.headers, "Host": "evil.example"}).json()
    (link,) = [x for x in page["links"] if x["rel"] == "next"]
    assert link["href"].startswith(settings.public_url.rstrip("/") + "/v1/requests?")
    assert "evil.example" not in link["href"]
    assert parse_qs(urlsplit(link["href"]).query)["cursor"] == [page["next_cursor"]]


def test_no_key_is_401_and_unknown_key_is_401(client) -> None:  # noqa: ANN001
    assert client.get("/v1/requests").status_code == 401
    r = client.get("/v1/requests", headers={"Authorization": "Bearer bst_deadbeef_nope"})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"


def test_other_organisation_sees_summary_but_cannot_change(client, city, utility) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    other = client.get(f"/v1/requests/{created['id']}", headers=utility.headers)
    assert other.status_code == 200
    assert other.json()["contact"] is None
    patch = client.patch(f"/v1/requests/{created['id']}", json={"title": "Gekapert"},
                         headers={**utility.headers, "If-Match": '"v1"'})
    assert patch.status_code == 403
    assert client.delete(f"/v1/requests/{created['id']}", headers=utility.headers).status_code == 403
    mine = client.get(f"/v1/requests/{created['id']}", headers=city.headers).json()
    assert mine["title"] == created["title"] and mine["status"] == "submitted"


def test_other_organisations_draft_is_404(client, city, utility) -> None:  # noqa: ANN001
    draft = client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers).json()
    assert client.get(f"/v1/requests/{draft['id']}", headers=utility.headers).status_code == 404
    assert client.delete(f"/v1/requests/{draft['id']}", headers=utility.headers).status_code == 404
    assert client.patch(f"/v1/requests/{draft['id']}", json={"title": "x"},
                        headers={**utility.headers, "If-Match": '"v1"'}).status_code == 404
    listed = client.get("/v1/requests", headers=utility.headers).json()
    assert draft["id"] not in [f["id"] for f in listed["features"]]


def test_coordinator_sees_everything(client, city, coordinator) -> None:  # noqa: ANN001
    draft = client.post("/v1/requests", json=site_body(status="draft"), headers=city.headers).json()
    got = client.get(f"/v1/requests/{draft['id']}", headers=coordinator.headers)
    assert got.status_code == 200 and got.json()["contact"]["name"] == "Bauleitung"


def test_unknown_id_is_404(client, city) -> None:  # noqa: ANN001
    r = client.get("/v1/requests/00000000-0000-0000-0000-000000000001", headers=city.headers)
    assert r.status_code == 404 and r.json()["status"] == 404


def test_patch_requires_current_etag(client, city, db) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    url = f"/v1/requests/{created['id']}"
    assert client.patch(url, json={"title": "Neu"}, headers=city.headers).status_code == 428
    ok = client.patch(url, json={"title": "Neu", "duration_days": 30}, headers={**city.headers, "If-Match": '"v1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["title"] == "Neu" and ok.json()["duration_days"] == 30
    assert ok.headers["etag"] == '"v2"'
    stale = client.patch(url, json={"title": "Alt"}, headers={**city.headers, "If-Match": '"v1"'})
    assert stale.status_code == 412
    assert client.get(url, headers=city.headers).json()["title"] == "Neu"


def test_timestamps_are_utc_z_and_updated_at_follows_created_at(client, city, coordinator) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers)
    assert created.json()["created_at"] == created.json()["updated_at"], "a new request was never updated"
    url = created.headers["location"]
    read = client.get(url, headers=city.headers).json()
    assert read["created_at"].endswith("Z") and read["updated_at"] == read["created_at"]
    assert read["deadline"]["since"].endswith("Z") and read["deadline"]["due_at"].endswith("Z"), read["deadline"]
    comment = client.post(f"{url}/comments", json={"text": "Bitte Anlieger informieren"}, headers=coordinator.headers)
    assert comment.json()["created_at"].endswith("Z"), "dict answers and model answers write time alike"
    changed = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": '"v1"'}).json()
    assert changed["updated_at"].endswith("Z") and changed["updated_at"] > changed["created_at"]


def test_patch_with_the_values_it_already_has_changes_nothing(client, city, db) -> None:  # noqa: ANN001
    from service.events.models import Event

    body = site_body()
    created = client.post("/v1/requests", json=body, headers=city.headers).json()
    url = f"/v1/requests/{created['id']}"
    events_before = db.scalar(select(func.count()).select_from(Event).where(Event.request_id == created["id"]))
    same = {k: body[k] for k in ("title", "earliest_start", "impact", "geometry", "duration_days")}
    r = client.patch(url, json=same, headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 200 and r.headers["etag"] == '"v1"'
    assert r.json()["slot"] == created["slot"]
    assert db.scalar(select(func.count()).select_from(Event).where(Event.request_id == created["id"])) == events_before
    r = client.patch(url, json={**same, "title": "Neu"}, headers={**city.headers, "If-Match": '"v1"'})
    assert r.headers["etag"] == '"v2"'
    (event,) = db.scalars(select(Event).where(Event.request_id == created["id"], Event.kind == "request.updated"))
    assert event.payload["fields"] == ["title"]  # only what changed


def test_patch_validates_the_merged_request(client, city) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    r = client.patch(f"/v1/requests/{created['id']}", json={"duration_days": 400},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "duration_days"
    assert client.get(f"/v1/requests/{created['id']}", headers=city.headers).json()["duration_days"] == 60


def test_withdraw_keeps_the_row(client, city, db) -> None:  # noqa: ANN001
    created = client.post("/v1/requests", json=site_body(), headers=city.headers).json()
    r = client.delete(f"/v1/requests/{created['id']}", headers=city.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert db.get(SiteRequest, created["id"]).status == "withdrawn"


def test_idempotent_retry_returns_the_same_request(client, city, db) -> None:  # noqa: ANN001
    body = site_body()
    headers = {**city.headers, "Idempotency-Key": "retry-1"}
    first = client.post("/v1/requests", json=body, headers=headers)
    second = client.post("/v1/requests", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert count(db) == 1
    different = client.post("/v1/requests", json={**body, "title": "Anders"}, headers=headers)
    assert different.status_code == 422
    assert count(db) == 1


def test_external_id_unique_per_organisation(client, city, utility, db) -> None:  # noqa: ANN001
    body = site_body(external_id="EB-1")
    assert client.post("/v1/requests", json=body, headers=city.headers).status_code == 201
    dup = client.post("/v1/requests", json=body, headers=city.headers)
    assert dup.status_code == 409 and dup.json()["errors"][0]["field"] == "external_id"
    assert client.post("/v1/requests", json=body, headers=utility.headers).status_code == 201
    assert count(db) == 2


def test_z_coordinates_are_dropped_and_said(client, city) -> None:  # noqa: ANN001
    geom = {"type": "LineString", "coordinates": [[7.0001, 51.4402, 80.0], [7.0012, 51.4371, 81.0]]}
    r = client.post("/v1/requests", json=site_body(geometry=geom), headers=city.headers)
    assert r.status_code == 201
    assert r.json()["geometry"]["coordinates"] == [[7.0001, 51.4402], [7.0012, 51.4371]]
    assert any("Z coordinates" in w for w in r.json()["warnings"])


BOWTIE = {"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.45], [7.01, 51.44], [7.0, 51.45], [7.0, 51.44]]]}
HUGE = {"type": "Polygon", "coordinates": [[[7.0, 51.4], [7.2, 51.4], [7.2, 51.5], [7.0, 51.5], [7.0, 51.4]]]}
MANY = {"type": "LineString", "coordinates": [[7.0 + i * 1e-6, 51.44] for i in range(10_001)]}


@pytest.mark.parametrize(
    ("overrides", "field", "phrase"),
    [
        ({"geometry": BOWTIE}, "geometry", "Self-intersection"),
        ({"geometry": {"type": "LineString", "coordinates": []}}, "geometry", "empty"),
        ({"geometry": {"type": "Point", "coordinates": [7.0, 95.0]}}, "geometry", "WGS84"),
        ({"geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}, "geometry", "service area"),
        ({"geometry": HUGE}, "geometry", "km²"),
        ({"geometry": MANY}, "geometry", "vertices"),
        ({"geometry": {"type": "GeometryCollection", "geometries": []}}, "geometry", "GeometryCollection"),
        ({"diversions": [{"type": "Polygon", "coordinates": HUGE["coordinates"]}]}, "diversions[0]", ""),
        ({"latest_end": "2027-02-01"}, "latest_end", "before"),
        ({"duration_days": 300}, "duration_days", "do not fit"),
        ({"duration_days": 0}, "duration_days", "at least 1"),
        ({"latest_end": "2037-12-31", "earliest_start": "2037-01-01", "preferred_start": None},
         "latest_end", "years ahead"),
        ({"earliest_start": "2027-02-30"}, "earliest_start", ""),
        ({"kind": "digging"}, "kind", ""),
        ({"impact": "total"}, "impact", ""),
        ({"preferred_start": "2027-09-29"}, "preferred_start", "fit"),
        ({"contact": {"name": "X", "email": "not-an-email"}}, "contact.email", ""),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(client, city, db, overrides, field, phrase) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(**overrides), headers=city.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == field
    assert phrase in problem["errors"][0]["detail"]
    assert count(db) == 0


def test_nan_coordinates_are_refused(client, city, db) -> None:  # noqa: ANN001
    raw = (
        '{"title": "t", "kind": "gas", "impact": "footway", "earliest_start": "2027-01-01", '
        '"latest_end": "2027-02-01", "duration_days": 5, "geometry": {"type": "Point", "coordinates": [NaN, 51.4]}}'
    )
    r = client.post("/v1/requests", content=raw, headers={**city.headers, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert count(db) == 0


def test_oversized_body_is_413(client, city, db) -> None:  # noqa: ANN001
    body = site_body(description="x" * 6_000_000)
    r = client.post("/v1/requests", json=body, headers=city.headers)
    assert r.status_code == 413
    assert count(db) == 0


def test_health_check_is_public_and_answers_head(client) -> None:  # noqa: ANN001
    assert client.get("/healthz").json() == {"status": "ok"}
    head = client.head("/healthz")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "15"  # {"status":"ok"}
    assert "/healthz" in client.get("/openapi.json").json()["paths"]


def test_openapi_declares_geojson(client) -> None:  # noqa: ANN001
    spec = client.get("/openapi.json").json()
    content = spec["paths"]["/v1/requests"]["get"]["responses"]["200"]["content"]
    assert "application/geo+json" in content
