"""DELETE honours If-Match like POST .../withdraw; the list's start/end filter by the slot where there is one;
works lines have a length cap; PATCH refuses null for fields the write body does not allow null."""

from __future__ import annotations

from sqlalchemy import select

from service.requests.models import SiteRequest
from service.slots.models import Slot
from tests.conftest import site_body
from tests.geo.test_line_length import line
from tests.workflow.flow import act, approved, history

PROBLEM = "application/problem+json"


# --- DELETE and If-Match ---------------------------------------------------------------------------


def test_delete_with_a_stale_etag_is_412_like_post_withdraw(client, db, city, coordinator) -> None:  # noqa: ANN001
    rid = approved(client, city, coordinator)["id"]
    tag = client.get(f"/v1/requests/{rid}", headers=city.headers).headers["etag"]
    assert tag != '"v1"'
    stale = {**city.headers, "If-Match": '"v1"'}
    deleted = client.delete(f"/v1/requests/{rid}", headers=stale)
    posted = act(client, city, rid, "withdraw", **{"If-Match": '"v1"'})
    for r in (deleted, posted):
        assert r.status_code == 412, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["type"].endswith("/stale-etag") and r.headers["etag"] == tag
    weak = client.delete(f"/v1/requests/{rid}", headers={**city.headers, "If-Match": f"W/{tag}"})
    assert weak.status_code == 412 and "weak tag never matches" in weak.json()["detail"]
    db.expire_all()
    assert db.get(SiteRequest, rid).status == "approved"  # nothing happened
    assert db.get(Slot, rid).status == "approved"
    rows = len(history(db, rid))

    # someone else's request: 403 comes first, as for POST .../withdraw
    assert client.delete(f"/v1/requests/{rid}", headers={**coordinator.headers, "If-Match": tag}).status_code == 403

    done = client.delete(f"/v1/requests/{rid}", headers={**city.headers, "If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "withdrawn" and done.headers["etag"] != tag
    db.expire_all()
    assert db.get(Slot, rid) is None
    assert [r.action for r in history(db, rid)[rows:]] == ["withdraw"]
    # withdrawn already: the current ETag (or none) answers as it is; the old one is stale
    assert client.delete(f"/v1/requests/{rid}", headers={**city.headers, "If-Match": done.headers["etag"]}
                         ).status_code == 200
    assert client.delete(f"/v1/requests/{rid}", headers={**city.headers, "If-Match": tag}).status_code == 412


def test_delete_without_if_match_withdraws_as_post_withdraw_does(client, city) -> None:  # noqa: ANN001
    by_delete = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    by_post = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    assert client.delete(f"/v1/requests/{by_delete}", headers=city.headers).json()["status"] == "withdrawn"
    assert act(client, city, by_post, "withdraw").json()["status"] == "withdrawn"


# --- the list's dates ------------------------------------------------------------------------------


def test_list_dates_filter_by_the_slot_where_there_is_one_else_the_window(client, db, city, coordinator) -> None:  # noqa: ANN001
    window = {"earliest_start": "2027-04-01", "latest_end": "2027-06-30", "duration_days": 20, "preferred_start": None}
    slotted = client.post("/v1/requests", json=site_body(**window), headers=city.headers).json()["id"]
    r = act(client, coordinator, slotted, "propose", {"start": "2027-04-01"})
    assert r.status_code == 200, r.text
    assert act(client, coordinator, slotted, "approve").status_code == 200
    assert (db.get(Slot, slotted).start.isoformat(), db.get(Slot, slotted).end.isoformat()) == ("2027-04-01",
                                                                                                 "2027-04-20")
    draft = client.post("/v1/requests", json=site_body(status="draft", **window), headers=city.headers).json()["id"]
    assert db.scalar(select(Slot).where(Slot.request_id == draft)) is None  # no slot: its window counts

    def listed(**params: str) -> set[str]:
        r = client.get("/v1/requests", params=params, headers=city.headers)
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]} & {slotted, draft}

    def ogc(dt: str) -> set[str]:
        r = client.get("/ogc/collections/sites/items", params={"datetime": dt}, headers=city.headers)
        assert r.status_code == 200, r.text
        return {f["id"] for f in r.json()["features"]} & {slotted, draft}

    # inside the window, after the slot: only the request without a slot, as in the OGC API
    assert listed(start="2027-06-20", end="2027-06-25") == {draft} == ogc("2027-06-20/2027-06-25")
    assert listed(start="2027-04-21") == {draft} == ogc("2027-04-21/..")
    assert listed(start="2027-04-20") == {slotted, draft} == ogc("2027-04-20/..")  # the slot's last day
    assert listed(start="2027-04-10", end="2027-04-12") == {slotted, draft} == ogc("2027-04-10/2027-04-12")
    assert listed(end="2027-03-31") == set() == ogc("../2027-03-31")
    assert listed(start="2027-07-01") == set()

    # a slot the plan could not place (no dates) leaves the window
    slot = db.get(Slot, slotted)
    slot.status, slot.start, slot.end = "unplaced", None, None
    db.flush()
    assert listed(start="2027-06-20", end="2027-06-25") == {slotted, draft}


# --- the length of works lines ---------------------------------------------------------------------


def test_a_works_line_is_capped_at_50_km_but_routes_are_not(client, city, db) -> None:  # noqa: ANN001
    under = client.post("/v1/requests", json=site_body(geometry=line(49.9), diversions=[]), headers=city.headers)
    assert under.status_code == 201, under.text

    over = client.post("/v1/requests", json=site_body(geometry=line(50.1), diversions=[]), headers=city.headers)
    assert over.status_code == 422 and over.headers["content-type"].startswith(PROBLEM)
    assert over.json()["errors"][0]["field"] == "geometry"
    assert "50.1 km long; at most 50 km" in over.json()["errors"][0]["detail"]

    far = {"type": "LineString", "coordinates": [[6.0, 51.0], [9.0, 52.0]]}
    assert client.post("/v1/requests", json=site_body(geometry=far), headers=city.headers).status_code == 422
    # a diversion or a rail replacement bus route may run further than the works
    routed = client.post("/v1/requests", json=site_body(diversions=[line(60.0)], replacement_routes=[line(80.0)]),
                         headers=city.headers)
    assert routed.status_code == 201, routed.text

    # the same cap on a change and on an import
    rid = under.json()["id"]
    patched = client.patch(f"/v1/requests/{rid}", json={"geometry": line(50.1)},
                           headers={**city.headers, "If-Match": '"v1"'})
    assert patched.status_code == 422 and patched.json()["errors"][0]["field"] == "geometry"
    props = {k: v for k, v in site_body().items() if k != "geometry"}
    imported = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": line(50.1), "properties": props}]}, headers=city.headers).json()
    assert imported["refused"] == 1 and imported["results"][0]["errors"][0]["field"] == "features[0].geometry"


# --- null in PATCH ---------------------------------------------------------------------------------


def test_patch_null_for_modes_and_other_non_nullable_fields_is_422(client, city) -> None:  # noqa: ANN001
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    headers = {**city.headers, "If-Match": '"v1"'}
    for field in ("modes", "description", "shift", "urgency", "diversions", "replacement_routes", "bundle_with",
                  "title"):
        r = client.patch(f"/v1/requests/{rid}", json={field: None}, headers=headers)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"] == field and "may not be null" in r.json()["errors"][0]["detail"]
    got = client.get(f"/v1/requests/{rid}", headers=city.headers)
    assert got.headers["etag"] == '"v1"'  # nothing was changed
    assert got.json()["modes"] == ["car", "cycle"] and len(got.json()["diversions"]) == 1
    assert client.post("/v1/requests", json=site_body(modes=None), headers=city.headers).status_code == 422

    cleared = client.patch(f"/v1/requests/{rid}", json={"modes": [], "diversions": []}, headers=headers)
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["modes"] == [] and cleared.json()["diversions"] == []


def test_patch_null_removes_the_contact(client, city, utility) -> None:  # noqa: ANN001
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    r = client.patch(f"/v1/requests/{rid}", json={"contact": None, "preferred_start": None},
                     headers={**city.headers, "If-Match": '"v1"'})
    assert r.status_code == 200, r.text
    assert r.json()["contact"] is None and r.json()["preferred_start"] is None
    again = client.patch(f"/v1/requests/{rid}", json={"contact": None}, headers={**city.headers, "If-Match": '"v2"'})
    assert again.status_code == 200 and again.headers["etag"] == '"v2"'  # no contact already: nothing changes
    without = client.post("/v1/requests", json=site_body(contact=None), headers=city.headers).json()
    assert without["contact"] is None
