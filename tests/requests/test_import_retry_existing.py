"""An import retried after a lost answer: a feature whose external id is stored already with the same content (the
fields as stored: geometry validated and normalised, links by id) is `existing` with `existing_id` and does not
make an atomic import fail; one stored with other content is refused pointing to PATCH and does. The summary counts
`stored`, `existing` and `refused` apart."""

from __future__ import annotations

from sqlalchemy import func, select

from service.requests.models import SiteRequest
from tests.conftest import site_body


def feature(external_id: str, **extra) -> dict:  # noqa: ANN003
    props = site_body(external_id=external_id, **extra)
    return {"type": "Feature", "geometry": props.pop("geometry"), "properties": props}


def fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def requests_stored(db) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(SiteRequest))


def test_an_atomic_retry_of_a_stored_file_answers_existing(client, city, db) -> None:  # noqa: ANN001
    collection = fc(feature("R-1"), feature("R-2", after=[{"request": "R-3"}]), feature("R-3"))
    first = client.post("/v1/requests/import?atomic=true", json=collection, headers=city.headers)
    assert first.status_code == 200, first.text
    ids = [x["id"] for x in first.json()["results"]]
    retry = client.post("/v1/requests/import?atomic=true", json=collection, headers=city.headers)
    assert retry.status_code == 200, retry.text
    report = retry.json()
    assert (report["stored"], report["existing"], report["refused"]) == (0, 3, 0), report
    assert [x["status"] for x in report["results"]] == ["existing"] * 3
    assert [x["existing_id"] for x in report["results"]] == ids
    assert [x["id"] for x in report["results"]] == [None] * 3
    assert requests_stored(db) == 3
    # a file stored in part: the rest is stored, the stored part answered as existing
    more = fc(*collection["features"], feature("R-4", bundle_with=["R-1"]))
    r = client.post("/v1/requests/import?atomic=true", json=more, headers=city.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["existing"], r.json()["refused"]) == (1, 3, 0)
    assert requests_stored(db) == 4


def test_the_same_content_is_compared_as_stored(client, city) -> None:  # noqa: ANN001
    line = {"type": "LineString", "coordinates": [[7.0001, 51.4402], [7.0012, 51.4371]]}
    first = client.post("/v1/requests/import", json=fc(feature("S-1", geometry=line)), headers=city.headers)
    assert first.json()["stored"] == 1, first.text
    # the same line with a repeated position and Z coordinates, modes in another order: stored the same
    again = {"type": "LineString", "coordinates": [[7.0001, 51.4402, 80], [7.0001, 51.4402, 80], [7.0012, 51.4371, 81]]}
    retry = client.post("/v1/requests/import", json=fc(feature("S-1", geometry=again, modes=["cycle", "car"])),
                        headers=city.headers)
    (result,) = retry.json()["results"]
    assert result["status"] == "existing" and result["existing_id"] == first.json()["results"][0]["id"], result


def test_a_stored_external_id_with_other_content_is_refused_and_fails_an_atomic_import(client, city, db) -> None:  # noqa: ANN001
    first = client.post("/v1/requests/import", json=fc(feature("D-1")), headers=city.headers).json()
    rid = first["results"][0]["id"]
    changed = fc(feature("D-1", title="Kanalerneuerung, 2. Abschnitt", duration_days=61), feature("D-2"))
    r = client.post("/v1/requests/import", json=changed, headers=city.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["stored"], report["existing"], report["refused"]) == (1, 0, 1), report
    refused = report["results"][0]
    assert refused["status"] == "refused" and refused["existing_id"] == rid
    (error,) = refused["errors"]
    assert error["field"] == "features[0].properties.external_id", error
    assert "other content" in error["detail"] and f"PATCH /v1/requests/{rid}" in error["detail"], error
    assert "title, duration_days differ" in error["detail"], error
    before = requests_stored(db)
    atomic = client.post("/v1/requests/import?atomic=true", json=fc(feature("D-1", duration_days=61), feature("D-3")),
                         headers=city.headers)
    assert atomic.status_code == 422, atomic.text
    assert [x["status"] for x in atomic.json()["report"]["results"]] == ["refused", "refused"]
    assert requests_stored(db) == before
