"""`after[].request` and `bundle_with` may name a request by the external id the writing organisation gave it,
in `POST /v1/requests`, `PATCH` and `POST /v1/requests/import` (there also a feature of the same file, before or
after the one naming it, resolved in the same transaction); reads name the links by id. An unknown external id is
refused naming the field, as an unknown id is."""

from __future__ import annotations

from sqlalchemy import func, select

from service.requests.models import RequestPrecedence, SiteRequest
from tests.conftest import site_body

SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}


def body(external_id: str, **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], duration_days=30,
                     preferred_start=None, external_id=external_id, **extra)


def feature(external_id: str, **extra) -> dict:  # noqa: ANN003
    props = body(external_id, **extra)
    return {"type": "Feature", "geometry": props.pop("geometry"), "properties": props}


def fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def ids_by_external_id(client, caller) -> dict[str, str]:  # noqa: ANN001
    page = client.get("/v1/requests", params={"owner": str(caller.org_id), "limit": 1000}, headers=caller.headers)
    return {f["properties"]["external_id"]: f["properties"]["id"] for f in page.json()["features"]}


def read(client, caller, rid: str) -> dict:  # noqa: ANN001
    return client.get(f"/v1/requests/{rid}", headers=caller.headers).json()


def counts(db) -> tuple[int, int]:  # noqa: ANN001
    return (db.scalar(select(func.count()).select_from(SiteRequest)),
            db.scalar(select(func.count()).select_from(RequestPrecedence)))


def test_post_and_patch_name_requests_by_external_id_and_read_them_by_id(client, city) -> None:  # noqa: ANN001
    trench = client.post("/v1/requests", json=body("EB-TRENCH"), headers=city.headers).json()
    pipe = client.post("/v1/requests", json=body("EB-PIPE"), headers=city.headers).json()
    r = client.post("/v1/requests", json=body("EB-ROAD", after=[{"request": " EB-TRENCH ", "max_gap_days": 30}],
                                              bundle_with=["EB-PIPE"]), headers=city.headers)
    assert r.status_code == 201, r.text
    road = r.json()
    assert road["after"] == [{"request": trench["id"], "min_gap_days": 0, "max_gap_days": 30}]
    assert road["bundle_with"] == [pipe["id"]]
    assert read(client, city, road["id"])["after"][0]["request"] == trench["id"]
    # PATCH: by external id, and sending the stored links by external id changes nothing
    etag = client.get(f"/v1/requests/{road['id']}", headers=city.headers).headers["etag"]
    same = client.patch(f"/v1/requests/{road['id']}", json={"after": [{"request": "EB-TRENCH", "max_gap_days": 30}],
                                                           "bundle_with": ["EB-PIPE"]},
                        headers={**city.headers, "If-Match": etag})
    assert same.status_code == 200 and same.headers["etag"] == etag, same.text
    changed = client.patch(f"/v1/requests/{road['id']}", json={"after": [{"request": "EB-PIPE"}]},
                           headers={**city.headers, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["after"] == [{"request": pipe["id"], "min_gap_days": 0, "max_gap_days": None}]


def test_unknown_or_foreign_external_ids_are_refused_naming_the_field(client, city, utility) -> None:  # noqa: ANN001
    client.post("/v1/requests", json=body("EB-OWN"), headers=city.headers)
    assert client.post("/v1/requests", json=body("EB-THEIRS"), headers=utility.headers).status_code == 201
    for sent, field in (({"after": [{"request": "EB-OWN"}, {"request": "EB-NONE"}]}, "after[1].request"),
                        ({"bundle_with": ["EB-THEIRS"]}, "bundle_with[0]"),  # another organisation's: not found
                        ({"after": [{"request": "EB-THEIRS"}]}, "after[0].request")):
        r = client.post("/v1/requests", json=body("EB-NEW", **sent), headers=city.headers)
        assert r.status_code == 422, r.text
        error = r.json()["errors"][0]
        assert error["field"] == field and "no request of your organisation has external_id" in error["detail"]
    created = client.post("/v1/requests", json=body("EB-X"), headers=city.headers)
    r = client.patch(created.headers["location"], json={"bundle_with": ["EB-NONE"]},
                     headers={**city.headers, "If-Match": created.headers["etag"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "bundle_with[0]", r.text
    for blank in ("", "   "):
        r = client.post("/v1/requests", json=body("EB-Y", after=[{"request": blank}]), headers=city.headers)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "after[0].request", r.text


def test_an_import_links_features_of_the_same_file_before_and_after(client, city, db) -> None:  # noqa: ANN001
    stored = client.post("/v1/requests", json=body("EB-0"), headers=city.headers).json()
    r = client.post("/v1/requests/import", params={"atomic": "true"}, json=fc(
        feature("EB-3", after=[{"request": "EB-1", "min_gap_days": 2}, {"request": "EB-0"}]),  # names one ahead
        feature("EB-1"),
        feature("EB-2", after=[{"request": "EB-1"}], bundle_with=["EB-3"]),  # one before
        feature("EB-4", bundle_with=["EB-5"]), feature("EB-5", bundle_with=["EB-4"]),  # each other
    ), headers=city.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["stored"], report["refused"]) == (5, 0), report
    ids = ids_by_external_id(client, city)
    assert [x["id"] for x in report["results"]] == [ids[e] for e in ("EB-3", "EB-1", "EB-2", "EB-4", "EB-5")]
    three = read(client, city, ids["EB-3"])
    assert three["after"] == [{"request": ids["EB-1"], "min_gap_days": 2, "max_gap_days": None},
                              {"request": stored["id"], "min_gap_days": 0, "max_gap_days": None}]
    assert read(client, city, ids["EB-2"])["after"][0]["request"] == ids["EB-1"]
    assert read(client, city, ids["EB-2"])["bundle_with"] == [ids["EB-3"]]
    assert read(client, city, ids["EB-4"])["bundle_with"] == [ids["EB-5"]]
    assert read(client, city, ids["EB-5"])["bundle_with"] == [ids["EB-4"]]
    # the predecessor stored first, so the successor was placed after it at once
    one, slot = read(client, city, ids["EB-1"])["slot"], three["slot"]
    assert slot is not None and one is not None and slot["start"] > one["end"], (one, slot)
    assert counts(db) == (6, 3)


def test_an_import_refuses_unknown_names_and_features_naming_refused_ones(client, city, db) -> None:  # noqa: ANN001
    bad_geometry = feature("EB-BAD")
    bad_geometry["geometry"] = {"type": "LineString", "coordinates": [[7.1, 51.42]]}
    r = client.post("/v1/requests/import", json=fc(
        feature("EB-A", after=[{"request": "EB-BAD"}]),  # names a feature refused later in the file
        bad_geometry,
        feature("EB-B", bundle_with=["EB-A"]),  # names one refused in turn
        feature("EB-C", after=[{"request": "EB-D"}]),  # a circle: C after D after C
        feature("EB-D", after=[{"request": "EB-C"}]),
        feature("EB-E", after=[{"request": "EB-G"}, {"request": "EB-NOWHERE"}]),
        feature("EB-F", after=[{"request": "EB-G"}, {"request": "EB-G", "min_gap_days": 1}]),  # named twice
        feature("EB-G"),
        # H and I name each other: H comes first, its name of I waits till I is stored
        feature("EB-H", after=[{"request": "EB-I"}, {"request": "EB-G", "min_gap_days": 9, "max_gap_days": 3}]),
        feature("EB-I", bundle_with=["EB-H"]),
    ), headers=city.headers)
    assert r.status_code == 200, r.text
    results = {x["external_id"]: x for x in r.json()["results"]}
    status = {k: v["status"] for k, v in results.items()}
    assert status == {"EB-A": "refused", "EB-BAD": "refused", "EB-B": "refused", "EB-C": "refused",
                      "EB-D": "refused", "EB-E": "refused", "EB-F": "refused", "EB-G": "stored",
                      "EB-H": "refused", "EB-I": "refused"}, results
    first = {k: v["errors"][0] for k, v in results.items() if v["status"] == "refused"}
    assert first["EB-A"]["field"] == "features[0].properties.after[0].request"
    assert "features[1]" in first["EB-A"]["detail"] and "not stored" in first["EB-A"]["detail"]
    assert first["EB-B"]["field"] == "features[2].properties.bundle_with[0]"
    assert "circle" in first["EB-C"]["detail"] or "circle" in first["EB-D"]["detail"], first
    assert first["EB-E"]["field"] == "features[5].properties.after[1].request"
    assert "external_id 'EB-NOWHERE'" in first["EB-E"]["detail"]
    assert first["EB-F"]["field"] == "features[6].properties.after[1].request" and "twice" in first["EB-F"]["detail"]
    # a name pointing ahead is left out at first: the refusal still names the entry as sent
    assert first["EB-H"]["field"] == "features[8].properties.after[1].max_gap_days", first["EB-H"]
    assert first["EB-I"]["field"] == "features[9].properties.bundle_with[0]"
    assert r.json()["stored"] == 1 and r.json()["refused"] == 9
    assert counts(db) == (1, 0)  # nothing refused is stored, nothing twice


def test_an_atomic_import_with_a_bad_link_stores_nothing(client, city, db) -> None:  # noqa: ANN001
    r = client.post("/v1/requests/import", params={"atomic": "true"}, json=fc(
        feature("EB-C", after=[{"request": "EB-D"}]), feature("EB-D", after=[{"request": "EB-C"}]),
        feature("EB-E")), headers=city.headers)
    assert r.status_code == 422, r.text
    assert [x["status"] for x in r.json()["report"]["results"]] == ["refused"] * 3
    assert any("circle" in e["detail"] for e in r.json()["errors"]), r.json()["errors"]
    assert counts(db) == (0, 0)
