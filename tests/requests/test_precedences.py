"""Precedences (``after``) on requests: stated, read, changed and refused through the API; bad input stores
nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from service.requests.models import RequestPrecedence, SiteRequest
from tests.conftest import site_body

PROBLEM = "application/problem+json"
SPOT = {"type": "LineString", "coordinates": [[7.1000, 51.4200], [7.1004, 51.4200]]}


def body(earliest: str = "2027-03-01", latest: str = "2027-09-30", days: int = 30, **extra) -> dict:  # noqa: ANN003
    return site_body(kind="other", impact="lane_reduction", geometry=SPOT, diversions=[], earliest_start=earliest,
                     latest_end=latest, duration_days=days, preferred_start=None, **extra)


def post(client, caller, **extra) -> dict:  # noqa: ANN001, ANN003
    r = client.post("/v1/requests", json=body(**extra), headers=caller.headers)
    assert r.status_code == 201, r.text
    return r.json()


def patch(client, caller, rid: str, changes: dict):  # noqa: ANN001, ANN201
    return client.patch(f"/v1/requests/{rid}", json=changes, headers={**caller.headers, "If-Match": "*"})


def after(rid: str, min_gap: int = 0, max_gap: int | None = None) -> dict:
    return {"request": rid, "min_gap_days": min_gap, "max_gap_days": max_gap}


def stored(db) -> tuple[int, int]:  # noqa: ANN001
    return (db.scalar(select(func.count()).select_from(SiteRequest)),
            db.scalar(select(func.count()).select_from(RequestPrecedence)))


def refused(r, field: str, contains: str) -> None:  # noqa: ANN001
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    error = r.json()["errors"][0]
    assert error["field"] == field, error
    assert contains in error["detail"], error


def test_stated_read_and_replaced(client, city, db) -> None:  # noqa: ANN001
    trench = post(client, city, title="Graben")
    other = post(client, city, title="Leitung")
    assert trench["after"] == []
    s = client.post("/v1/requests", json=body(after=[{"request": trench["id"], "max_gap_days": 30}]),
                    headers=city.headers)
    assert s.status_code == 201, s.text
    assert s.json()["after"] == [after(trench["id"], 0, 30)]  # min_gap_days defaults to 0
    sid = s.json()["id"]
    assert client.get(f"/v1/requests/{sid}", headers=city.headers).json()["after"] == [after(trench["id"], 0, 30)]
    etag = client.get(f"/v1/requests/{sid}", headers=city.headers).headers["etag"]
    # the list is replaced as a whole, in the order sent; a change of the precedences alone is a new version
    r = client.patch(f"/v1/requests/{sid}", json={"after": [after(other["id"], 2), after(trench["id"], 1, 5)]},
                     headers={**city.headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["after"] == [after(other["id"], 2), after(trench["id"], 1, 5)]
    assert r.headers["etag"] != etag
    # sending the same list changes nothing
    same = client.patch(f"/v1/requests/{sid}", json={"after": r.json()["after"]},
                        headers={**city.headers, "If-Match": r.headers["etag"]})
    assert same.status_code == 200 and same.headers["etag"] == r.headers["etag"]
    assert patch(client, city, sid, {"after": None}).json()["after"] == []
    assert stored(db)[1] == 0


def test_bad_precedences_are_refused_and_nothing_is_stored(client, city, utility, db) -> None:  # noqa: ANN001
    trench = post(client, city, title="Graben")
    foreign = post(client, utility)
    foreign_draft = post(client, utility, status="draft")
    gone = post(client, city)
    assert client.delete(f"/v1/requests/{gone['id']}", headers=city.headers).status_code == 200
    before = stored(db)
    t = trench["id"]
    cases = [
        ([after(str(uuid.uuid4()))], "after[0].request", "does not exist"),
        ([after(foreign_draft["id"])], "after[0].request", "does not exist"),  # another's draft is not visible
        ([after(gone["id"])], "after[0].request", "withdrawn"),
        ([after(foreign["id"])], "after[0].request", "another organisation"),
        ([after(t), after(t, 3)], "after[1].request", "named twice"),
        ([after(t, -1)], "after[0].min_gap_days", "greater than or equal to 0"),
        ([after(t, 0, -2)], "after[0].max_gap_days", "greater than or equal to 0"),
        ([after(t, 10, 5)], "after[0].max_gap_days", "less than min_gap_days (10)"),
        ([{"request": t, "min_gap_days": "3"}], "after[0].min_gap_days", "valid integer"),
        ([{"request": t, "gap": 3}], "after[0].gap", "Extra inputs"),
        ([{"request": "Graben"}], "after[0].request", "external_id 'Graben'"),
    ]
    for entries, field, contains in cases:
        refused(client.post("/v1/requests", json=body(after=entries), headers=city.headers), field, contains)
    # windows that cannot keep the order: the trench (1 Mar .. 30 Sep, 30 days) ends on 30 Mar at the earliest
    early = body("2027-01-04", "2027-03-31", 20, after=[after(t, 10)])
    refused(client.post("/v1/requests", json=early, headers=city.headers), "after[0].request",
            "ends on 2027-03-30 at the earliest; with min_gap_days 10 this request could start on 2027-04-10")
    # ... and on 30 Sep at the latest: within 5 days of it means by 6 Oct
    late = body("2027-11-01", "2027-12-31", 20, after=[after(t, 0, 5)])
    refused(client.post("/v1/requests", json=late, headers=city.headers), "after[0].request",
            "must start by 2027-10-06, but its window lets it start on 2027-11-01 at the earliest")
    assert stored(db) == before


def test_self_reference_and_cycles_are_refused(client, city, db) -> None:  # noqa: ANN001
    a = post(client, city, title="A")
    b = post(client, city, title="B", after=[after(a["id"])])
    c = post(client, city, title="C", after=[after(b["id"])])
    before = stored(db)
    refused(patch(client, city, a["id"], {"after": [after(a["id"])]}), "after[0].request", "cannot come after itself")
    refused(patch(client, city, a["id"], {"after": [after(b["id"])]}), "after[0].request",
            f"request {b['id']} already comes after this request: the order would go round in a circle")
    refused(patch(client, city, a["id"], {"after": [after(c["id"])]}), "after[0].request",
            f"request {c['id']} already comes after this request (through {b['id']}): the order would go round")
    assert stored(db) == before
    assert client.get(f"/v1/requests/{a['id']}", headers=city.headers).json()["version"] == a["version"]


def test_a_changed_window_must_keep_the_order(client, city, db) -> None:  # noqa: ANN001
    # the trench (30 days) ends between 30 Mar and 30 Jun; the successor starts between 15 Jun and 1 Sep,
    # 5 to 40 days after it
    trench = post(client, city, title="Graben", earliest="2027-03-01", latest="2027-06-30")
    s = post(client, city, earliest="2027-06-15", latest="2027-09-30", after=[after(trench["id"], 5, 40)])
    before = stored(db)
    # the successor's own window: its last start (now 1 Apr) must lie 5 days after the trench's earliest end
    refused(patch(client, city, s["id"], {"earliest_start": "2027-03-01", "latest_end": "2027-04-30"}),
            "after[0].request", "ends on 2027-03-30 at the earliest; with min_gap_days 5")
    refused(patch(client, city, s["id"], {"earliest_start": "2027-08-25"}), "after[0].request",
            "ends on 2027-06-30 at the latest; with max_gap_days 40 this request must start by 2027-08-10")
    # the predecessor's window: a trench from 15 Aug ends too late for a successor that starts by 1 Sep ...
    refused(patch(client, city, trench["id"], {"earliest_start": "2027-08-15", "latest_end": "2027-09-30"}),
            "earliest_start", f"request {s['id']} comes after this one with at least 5 days between")
    # ... and one ending by 15 Apr too early for one that starts on 15 Jun at the earliest, 40 days after
    refused(patch(client, city, trench["id"], {"latest_end": "2027-04-15"}), "latest_end",
            "at most 40 days between and cannot start before 2027-06-15")
    assert stored(db) == before
    ok = patch(client, city, trench["id"], {"latest_end": "2027-07-31"})
    assert ok.status_code == 200, ok.text


def test_the_coordination_office_orders_two_organisations_works(client, city, utility, coordinator) -> None:  # noqa: ANN001
    trench = post(client, utility, title="Gasleitung")
    s = post(client, city, title="Deckenerneuerung")
    entry = after(trench["id"], 0, 30)
    refused(patch(client, city, s["id"], {"after": [entry]}), "after[0].request",
            "order of two organisations' works is set by the coordination office")
    # the coordinator may change the precedences of any request, but nothing else of it
    r = patch(client, coordinator, s["id"], {"after": [entry]})
    assert r.status_code == 200, r.text
    assert r.json()["after"] == [entry]
    assert patch(client, coordinator, s["id"], {"after": [entry], "title": "x"}).status_code == 403
    # the owner may keep it and add its own, but not drop or change it
    own = post(client, city, title="Markierung")
    kept = patch(client, city, s["id"], {"after": [entry, after(own["id"])]})
    assert kept.status_code == 200, kept.text
    refused(patch(client, city, s["id"], {"after": [after(own["id"])]}), "after", "set by the coordination office")
    refused(patch(client, city, s["id"], {"after": [after(trench["id"], 2, 30), after(own["id"])]}),
            "after[0].request", "set by the coordination office")
    assert client.get(f"/v1/requests/{s['id']}", headers=city.headers).json()["after"] == [entry, after(own["id"])]
    # once the other request is withdrawn, the precedence holds nothing and its owner may drop it
    assert client.delete(f"/v1/requests/{trench['id']}", headers=utility.headers).status_code == 200
    assert patch(client, city, s["id"], {"title": "Deckenerneuerung Nord"}).status_code == 200
    dropped = patch(client, city, s["id"], {"after": [after(own["id"])]})
    assert dropped.status_code == 200 and dropped.json()["after"] == [after(own["id"])]


@pytest.mark.parametrize("entries", [[{"request": "x"}], "nope", [None]])
def test_malformed_after_lists_are_refused_on_import(client, city, db, entries) -> None:  # noqa: ANN001
    feature = {"type": "Feature", "geometry": SPOT,
               "properties": {k: v for k, v in body(after=entries).items() if k != "geometry"}}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    assert r.status_code == 200, r.text
    result = r.json()["results"][0]
    assert result["status"] == "refused" and result["errors"][0]["field"].startswith("features[0].properties.after")
    assert stored(db) == (0, 0)


def test_openapi_describes_the_precedences(client) -> None:  # noqa: ANN001
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("RequestWrite", "RequestPatch", "RequestRead"):
        description = schemas[name]["properties"]["after"]["description"]
        assert "`min_gap_days`" in description and "`max_gap_days`" in description
        assert "coordination office" in description
    assert set(schemas["Predecessor"]["properties"]) == {"request", "min_gap_days", "max_gap_days"}
