"""Bad input found by an audit of the write endpoints: each is refused with problem details naming the field, and
nothing is stored."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.conflicts.models import Corridor, Zone
from service.events.models import Event
from service.kit.time import years_after
from service.requests.models import SiteRequest
from tests.conftest import site_body
from tests.workflow.flow import d

PROBLEM = "application/problem+json"


def count(db, model=SiteRequest) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(model))


def refused(r, field: str, status: int = 422, contains: str = "") -> None:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["errors"][0]["field"] == field, body
    assert contains in body["errors"][0]["detail"], body


LINE = [[7.0, 51.44], [7.001, 51.44]]


@pytest.mark.parametrize(("geometry", "contains"), [
    ({"type": "LineString", "coordinates": [[7.0, 51.44]]}, "a line needs at least two"),
    ({"type": "MultiLineString", "coordinates": [[], LINE]}, "line 0 has 0 position"),
    ({"type": "LineString", "coordinates": [[7.0, 51.44], [10**400, 51.44]]}, "finite numbers"),
    ({"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.44], [7.01, 51.45]]]}, "at least four"),
    ({"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.44], [7.01, 51.45], [7.0, 51.45]]]},
     "is not closed"),
    ({"type": "LineString", "coordinates": [[7.0, 51.44], [7.01, 51.45], [7.01, 51.44], [7.0, 51.45]]},
     "crosses or touches itself"),
])
def test_malformed_footprints_are_refused_not_crashed(client, city, db, geometry, contains) -> None:  # noqa: ANN001
    refused(client.post("/v1/requests", json=site_body(geometry=geometry), headers=city.headers), "geometry",
            contains=contains)
    assert count(db) == 0


def test_two_trenches_across_a_junction_and_a_looping_diversion_are_fine(client, city) -> None:  # noqa: ANN001
    cross = {"type": "MultiLineString", "coordinates": [[[7.0, 51.44], [7.002, 51.442]], [[7.0, 51.442],
                                                                                         [7.002, 51.44]]]}
    loop = {"type": "LineString", "coordinates": [[7.003, 51.44], [7.004, 51.441], [7.004, 51.44], [7.003, 51.441]]}
    r = client.post("/v1/requests", json=site_body(geometry=cross, diversions=[loop]), headers=city.headers)
    assert r.status_code == 201, r.text


def test_a_route_is_a_line_or_lines_and_the_error_says_so(client, city, db) -> None:  # noqa: ANN001
    point = {"type": "Point", "coordinates": [7.003, 51.44]}
    before = count(db)
    r = client.post("/v1/requests", json=site_body(diversions=[point]), headers=city.headers)
    refused(r, "diversions[0]", contains="use one of LineString, MultiLineString")
    assert count(db) == before
    pieces = {"type": "MultiLineString", "coordinates": [[[7.003, 51.44], [7.004, 51.441]],
                                                         [[7.005, 51.441], [7.006, 51.44]]]}
    r = client.post("/v1/requests", json=site_body(replacement_routes=[pieces]), headers=city.headers)
    assert r.status_code == 201 and len(r.json()["replacement_routes"]) == 2, r.text


def test_control_characters_are_refused_with_their_field(client, city, db) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(contact={"name": "Bau\u0000leitung", "email": "a@example.org"}),
                    headers=city.headers)
    refused(r, "contact.name", contains="control character")
    feature = {"type": "Feature", "geometry": site_body()["geometry"],
               "properties": {k: v for k, v in site_body(title="A\u0007").items() if k != "geometry"}}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    refused(r, "features[0].properties.title")
    # an escaped backslash followed by "u0000" is ordinary text
    r = client.post("/v1/requests", json=site_body(description="C:\\u0000dir"), headers=city.headers)
    assert r.status_code == 201, r.text
    assert count(db) == 1


def test_malformed_json_wrong_content_type_and_chunked_oversize(client, city, db) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", content=b'{"title": "x",,}',
                    headers={**city.headers, "Content-Type": "application/json"})
    refused(r, "body", contains="is not valid JSON")
    r = client.post("/v1/requests", content=b"title=x", headers={**city.headers, "Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"].startswith(PROBLEM)

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(7):
            yield b" " * 1_000_000

    r = client.post("/v1/requests", content=chunks(), headers={**city.headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["instance"] == "/v1/requests"
    assert count(db) == 0


def test_an_unexpected_error_is_a_problem_not_plain_text(app) -> None:  # noqa: ANN001
    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/v1/boom")
    assert r.status_code == 500 and r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["title"] == "Internal Server Error" and "a bug" not in r.text


def test_windows_that_have_ended_and_emergencies_outside_today(client, city, db) -> None:  # noqa: ANN001
    r = client.post("/v1/requests", json=site_body(earliest_start="1990-01-01", latest_end="1990-12-31",
                                                   preferred_start=None), headers=city.headers)
    refused(r, "latest_end", contains="has passed")
    r = client.post("/v1/requests", json=site_body(urgency="emergency", earliest_start="2030-01-01",
                                                   latest_end="2030-12-31", duration_days=10, preferred_start=None),
                    headers=city.headers)
    refused(r, "earliest_start", contains="emergency starts today")
    assert count(db) == 0
    r = client.post("/v1/requests", json=site_body(urgency="emergency", earliest_start=d(-2), latest_end=d(30),
                                                   duration_days=10, preferred_start=None), headers=city.headers)
    assert r.status_code == 201 and r.json()["status"] == "active", r.text


def test_loose_types_and_blank_titles(client, city, db) -> None:  # noqa: ANN001
    refused(client.post("/v1/requests", json=site_body(duration_days=True), headers=city.headers), "duration_days")
    refused(client.post("/v1/requests", json=site_body(duration_days="60"), headers=city.headers), "duration_days")
    refused(client.post("/v1/requests", json=site_body(title="   "), headers=city.headers), "title",
            contains="blank")
    assert count(db) == 0


def test_import_feature_with_bad_properties_is_refused_alone(client, city, db) -> None:  # noqa: ANN001
    good = site_body()
    features = [
        {"type": "Feature", "geometry": good.pop("geometry"), "properties": good},
        {"type": "Feature", "geometry": site_body()["geometry"], "properties": [1, 2]},
        {"type": "Feature", "geometry": None, "properties": {k: v for k, v in site_body().items() if k != "geometry"}},
    ]
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": features},
                    headers=city.headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["stored"] == 1 and [x["status"] for x in report["results"]] == ["stored", "refused", "refused"]
    assert report["results"][1]["errors"][0]["field"] == "features[1].properties"
    assert report["results"][2]["errors"][0]["field"] == "features[2].geometry"
    assert count(db) == 1

    # atomic: all or nothing, and the invalid fields are named like in any other problem
    features[0]["properties"]["external_id"] = "zweiter-versuch"  # would be stored on its own
    r = client.post("/v1/requests/import?atomic=true", json={"type": "FeatureCollection", "features": features},
                    headers=city.headers)
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["type"].endswith("import-refused") and problem["instance"] == "/v1/requests/import"
    assert [e["field"] for e in problem["errors"]] == ["features[1].properties", "features[2].geometry"]
    assert [x["status"] for x in problem["report"]["results"]] == ["refused"] * 3
    assert problem["report"]["results"][0]["errors"][0]["detail"] == "not stored: the atomic import failed"
    assert count(db) == 1


def test_an_empty_patch_changes_nothing(client, city, db) -> None:  # noqa: ANN001
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    events = count(db, Event)
    before = client.get(f"/v1/requests/{rid}", headers=city.headers)
    history = client.get(f"/v1/requests/{rid}/history", headers=city.headers).json()
    r = client.patch(f"/v1/requests/{rid}", json={}, headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200
    after = client.get(f"/v1/requests/{rid}", headers=city.headers)
    assert after.headers["etag"] == before.headers["etag"] and after.json()["slot"] == before.json()["slot"]
    assert client.get(f"/v1/requests/{rid}/history", headers=city.headers).json() == history
    assert count(db, Event) == events  # no request.updated for subscribers and feeds


def test_dry_run_checks_its_request_id_and_duration(client, city, utility) -> None:  # noqa: ANN001
    theirs = client.post("/v1/requests", json=site_body(), headers=utility.headers).json()
    check = {"geometry": site_body()["geometry"], "earliest_start": "2027-04-01", "latest_end": "2027-05-30",
             "impact": "full_closure", "kind": "sewer"}
    refused(client.post("/v1/conflicts/check", json={**check, "request_id": theirs["id"]}, headers=city.headers),
            "request_id")
    refused(client.post("/v1/conflicts/check", json={**check, "duration_days": 0}, headers=city.headers),
            "duration_days")


def test_rules_refuse_empty_geometry_unknown_owner_and_far_stops(client, coordinator, db) -> None:  # noqa: ANN001
    h = coordinator.headers
    refused(client.post("/v1/zones", json={"name": "Z", "capacity": 1, "geometry": {}}, headers=h), "geometry")
    refused(client.post("/v1/blackouts", json={"name": "B", "geometry": {}, "start": "2027-01-01",
                                               "end": "2027-01-05"}, headers=h), "geometry")
    corridor = {"name": "C1", "kind": "arterial", "geometry": {"type": "LineString", "coordinates": LINE}}
    refused(client.post("/v1/corridors", json={**corridor, "owner_id": "00000000-0000-0000-0000-000000000000"},
                        headers=h), "owner_id")
    refused(client.post("/v1/corridors", json={**corridor, "stops": [{"id": "X", "name": "Null Island", "lon": 0,
                                                                      "lat": 0}]}, headers=h), "stops[0]")
    assert count(db, Zone) == 0 and count(db, Corridor) == 0
    loop = {"type": "LineString", "coordinates": [[7.0, 51.44], [7.01, 51.45], [7.01, 51.44], [7.0, 51.45]]}
    assert client.post("/v1/corridors", json={**corridor, "geometry": loop}, headers=h).status_code == 201


def test_years_after_survives_29_february() -> None:
    assert years_after(date(2028, 2, 29), 10) == date(2038, 2, 28)
    assert years_after(date(2028, 2, 29), 4) == date(2032, 2, 29)


def test_a_change_to_zero_days_is_refused(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import approved

    rid = approved(client, city, coordinator)["id"]
    r = client.post(f"/v1/requests/{rid}/changes", json={"duration_days": 0}, headers=city.headers)
    refused(r, "duration_days", contains="at least 1 day")
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["duration_days"] == 10


@pytest.mark.parametrize("url", ["https://127.1/h", "https://2130706433/h", "https://0x7f.0.0.1/h",
                                 "https://localhost./h", "https://api.localhost/h", "https://10.1/h",
                                 "https://example.org:99999/h"])
def test_webhook_urls_cannot_reach_this_machine_in_disguise(settings, url) -> None:  # noqa: ANN001
    from service.kit.problems import InvalidField
    from service.notices.service import check_webhook_url

    strict = settings.model_copy(update={"webhook_allow_http_loopback": False})
    with pytest.raises(InvalidField) as err:
        check_webhook_url(url, strict, "webhooks[0]")
    assert err.value.field == "webhooks[0]"
    assert check_webhook_url("https://hooks.example.org:8443/h", strict, "webhooks[0]")


def test_a_plan_of_days_that_have_passed_is_refused(client, coordinator) -> None:  # noqa: ANN001
    r = client.post("/v1/plans", json={"bbox": [6.9, 51.4, 7.1, 51.5], "from": "1990-01-01", "to": "1990-12-31"},
                    headers=coordinator.headers)
    refused(r, "to", contains="has passed")


def test_a_start_beyond_the_calendar_is_refused_not_crashed(client, city, coordinator, db) -> None:  # noqa: ANN001
    from tests.workflow.flow import create, ok

    rid = create(client, city)["id"]
    refused(client.post(f"/v1/requests/{rid}/propose", json={"start": "9999-12-31"}, headers=coordinator.headers),
            "start", contains="does not fit the window")
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    ok(client, city, rid, "accept")
    refused(client.post(f"/v1/requests/{rid}/approve", json={"start": "9999-12-31"}, headers=coordinator.headers),
            "start", contains="does not fit the window")
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "accepted"


def test_a_blank_external_id_is_no_external_id(client, city, db) -> None:  # noqa: ANN001
    for blank in ("", "  ", "\u200b"):
        r = client.post("/v1/requests", json=site_body(external_id=blank), headers=city.headers)
        assert r.status_code == 201 and r.json()["external_id"] is None, r.text
    rid = client.post("/v1/requests", json=site_body(external_id="EB-1"), headers=city.headers).json()["id"]
    r = client.patch(f"/v1/requests/{rid}", json={"external_id": ""}, headers={**city.headers, "If-Match": "*"})
    assert r.status_code == 200 and r.json()["external_id"] is None, r.text
    feature = {"type": "Feature", "geometry": site_body()["geometry"],
               "properties": {k: v for k, v in site_body(external_id="").items() if k != "geometry"}}
    r = client.post("/v1/requests/import", json={"type": "FeatureCollection", "features": [feature]},
                    headers=city.headers)
    assert r.json()["stored"] == 1, r.text
    assert db.scalar(select(func.count()).where(SiteRequest.external_id == "")) == 0


def test_a_duplicate_external_id_names_the_field_even_when_the_check_is_raced(client, city, monkeypatch) -> None:  # noqa: ANN001
    client.post("/v1/requests", json=site_body(external_id="EB-1"), headers=city.headers)
    rid = client.post("/v1/requests", json=site_body(external_id="EB-2"), headers=city.headers).json()["id"]
    refused(client.patch(f"/v1/requests/{rid}", json={"external_id": "EB-1"},
                         headers={**city.headers, "If-Match": "*"}), "external_id", status=409)
    # a concurrent call stored the same id between the check and the write: the unique index answers, as a 409
    monkeypatch.setattr("service.requests.service._check_external_id", lambda *a, **k: None)
    refused(client.patch(f"/v1/requests/{rid}", json={"external_id": "EB-1"},
                         headers={**city.headers, "If-Match": "*"}), "external_id", status=409)
    refused(client.post("/v1/requests", json=site_body(external_id="EB-1"), headers=city.headers), "external_id",
            status=409)
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["external_id"] == "EB-2"


def test_a_map_id_or_owner_with_a_nul_is_refused_not_crashed(client) -> None:  # noqa: ANN001
    for path in ("/map/timeline/zones/%00", "/map/timeline/zones/a%00b", "/map/timeline/corridors/%7F",
                 "/ogc/collections/zones/items/%00", "/ogc/collections/conflicts/items/%00"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM), (path, r.text)
    refused(client.get("/ogc/collections/sites/items", params={"owner": "Stadt\x00"}), "owner",
            contains="control character", status=400)  # OGC API: an invalid query parameter is 400
    refused(client.get("/tiles/sites/10/533/342.mvt", params={"owner": "\x00"}), "owner")


def _post_raw(client, caller, raw: bytes):  # noqa: ANN001, ANN202
    return client.post("/v1/requests", content=raw, headers={**caller.headers, "Content-Type": "application/json"})


def test_json_nested_too_deeply_or_not_utf8_is_a_422_on_the_body(client, city, db) -> None:  # noqa: ANN001
    deep = "[" * 3000 + "]" * 3000
    refused(_post_raw(client, city, ('{"title":"\\u0000","a":' + deep + "}").encode()), "body",
            contains="nested too deeply")
    refused(_post_raw(client, city, ('{"title":"x","a":' + deep + "}").encode()), "body", contains="nested too deeply")
    refused(_post_raw(client, city, b'{"title": "\xff\xfe"}'), "body", contains="not UTF-8")
    assert count(db) == 0


def test_json_in_utf16_or_with_a_byte_order_mark_is_refused(client, city, db) -> None:  # noqa: ANN001
    """RFC 8259: JSON between systems is UTF-8 without a BOM; Python's parser alone would accept both."""
    import json

    text = json.dumps(site_body(), ensure_ascii=False)
    refused(_post_raw(client, city, text.encode("utf-16")), "body", contains="not UTF-8")
    refused(_post_raw(client, city, text.encode("utf-16-le")), "body", contains="not UTF-8")
    refused(_post_raw(client, city, text.encode("utf-8-sig")), "body", contains="byte order mark")
    assert count(db) == 0
    assert _post_raw(client, city, text.encode("utf-8")).status_code == 201


@pytest.mark.parametrize("char", ["\x7f", "\x80", "\x85", "\x9f"])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_del_and_c1_controls_are_refused_escaped_or_raw(client, city, db, char, ascii_only) -> None:  # noqa: ANN001
    import json

    raw = json.dumps(site_body(contact={"name": f"Bau{char}leitung"}), ensure_ascii=ascii_only).encode()
    refused(_post_raw(client, city, raw), "contact.name", contains="control character")
    assert count(db) == 0


def test_numbers_are_json_numbers(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import approved

    rid = approved(client, city, coordinator)["id"]
    check = {"geometry": site_body()["geometry"], "earliest_start": "2027-04-01", "latest_end": "2027-05-30",
             "impact": "full_closure", "kind": "sewer"}
    for value in (True, "40", 40.5):
        refused(client.post(f"/v1/requests/{rid}/changes", json={"duration_days": value}, headers=city.headers),
                "duration_days")
        refused(client.post("/v1/conflicts/check", json={**check, "duration_days": value}, headers=city.headers),
                "duration_days")
    refused(client.post("/v1/plans", json={"bbox": [6.9, 51.4, "7.1", 51.5], "from": d(0), "to": d(30)},
                        headers=coordinator.headers), "bbox[2]")
    assert client.get(f"/v1/requests/{rid}/changes", headers=city.headers).json() == []


BAD_DAYS = ["2027-03-01T00:00:00+14:00", "2027-03-01T00:00:00", "2027-03-01 00:00", 1803859200, "1803859200",
            "20270301", " 2027-03-01"]


@pytest.mark.parametrize("value", BAD_DAYS)
def test_dates_are_calendar_days_not_times_or_numbers(client, city, coordinator, db, value) -> None:  # noqa: ANN001
    h, ch = city.headers, coordinator.headers
    refused(client.post("/v1/requests", json=site_body(earliest_start=value), headers=h), "earliest_start",
            contains="YYYY-MM-DD")
    refused(client.post("/v1/requests", json=site_body(preferred_start=value), headers=h), "preferred_start")
    check = {"geometry": site_body()["geometry"], "earliest_start": "2027-04-01", "latest_end": "2027-05-30",
             "impact": "full_closure", "kind": "sewer"}
    refused(client.post("/v1/conflicts/check", json={**check, "latest_end": value}, headers=h), "latest_end")
    refused(client.post("/v1/plans", json={"bbox": [6.9, 51.4, 7.1, 51.5], "from": value, "to": "2028-12-31"},
                        headers=ch), "from")
    refused(client.get("/v1/requests", params={"start": value}, headers=h), "start")
    refused(client.get("/v1/conflicts", params={"end": value}, headers=h), "end")
    rid = client.post("/v1/requests", json=site_body(), headers=h).json()["id"]
    refused(client.patch(f"/v1/requests/{rid}", json={"latest_end": value}, headers={**h, "If-Match": "*"}),
            "latest_end")
    refused(client.post(f"/v1/requests/{rid}/propose", json={"start": value}, headers=ch), "start")
    assert count(db) == 1


def test_dates_in_the_workflow_are_calendar_days(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import approved, create, ok

    value = "2027-03-01T00:00:00+14:00"
    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    refused(client.post(f"/v1/requests/{rid}/contest", json={"reason": "zu früh", "counter_proposal": {
        "earliest_start": value, "latest_end": d(80)}}, headers=city.headers), "counter_proposal.earliest_start")
    refused(client.post(f"/v1/requests/{rid}/approve", json={"start": value}, headers=coordinator.headers), "start")
    other = approved(client, city, coordinator)["id"]
    refused(client.post(f"/v1/requests/{other}/changes", json={"latest_end": 1803859200}, headers=city.headers),
            "latest_end")


def test_impossible_dates_say_why(client, city, db) -> None:  # noqa: ANN001
    refused(client.post("/v1/requests", json=site_body(earliest_start="2027-02-30"), headers=city.headers),
            "earliest_start", contains="2027-02-30 is not a valid date: day is out of range for month")
    refused(client.get("/v1/requests", params={"start": "2027-13-01"}, headers=city.headers), "start",
            contains="month must be in 1..12")
    assert count(db) == 0


@pytest.mark.parametrize("blank", ["   ", "\u200b\u200b", "\ufeff\u00a0", "\u2060\u3000"])
def test_blank_titles_names_and_comments(client, city, coordinator, make_caller, db, blank) -> None:  # noqa: ANN001
    refused(client.post("/v1/requests", json=site_body(title=blank), headers=city.headers), "title", contains="blank")
    refused(client.post("/v1/requests", json=site_body(contact={"name": blank}), headers=city.headers),
            "contact.name", contains="blank")
    admin = make_caller("coordinator", "admin")
    refused(client.post("/v1/organisations", json={"name": blank, "kind": "city"}, headers=admin.headers), "name",
            contains="blank")
    rid = client.post("/v1/requests", json=site_body(), headers=city.headers).json()["id"]
    refused(client.patch(f"/v1/requests/{rid}", json={"title": blank}, headers={**city.headers, "If-Match": "*"}),
            "title", contains="blank")
    refused(client.post(f"/v1/requests/{rid}/comments", json={"text": blank}, headers=city.headers), "text",
            contains="blank")
    assert client.get(f"/v1/requests/{rid}/comments", headers=city.headers).json() == []


def test_a_reason_of_invisible_characters_is_no_reason(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import create, ok

    rid = create(client, city)["id"]
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    refused(client.post(f"/v1/requests/{rid}/contest", json={"reason": "\u200b "}, headers=city.headers), "reason")
    assert client.get(f"/v1/requests/{rid}", headers=city.headers).json()["status"] == "slot_proposed"


def test_organisation_and_key_bodies_forbid_unknown_fields(client, city, make_caller) -> None:  # noqa: ANN001
    admin = make_caller("coordinator", "admin")
    refused(client.post("/v1/organisations", json={"name": "Stadt Bottrop", "kind": "city", "admin": True},
                        headers=admin.headers), "admin")
    refused(client.post(f"/v1/organisations/{city.org_id}/keys", json={"role": "submitter", "scope": "all"},
                        headers=admin.headers), "scope")


def test_if_match_takes_a_list_of_etags(client, city, coordinator) -> None:  # noqa: ANN001
    from tests.workflow.flow import create, ok

    rid = create(client, city)["id"]
    url = f"/v1/requests/{rid}"
    tag = client.get(url, headers=city.headers).headers["etag"]
    r = client.patch(url, json={"title": "Neu"}, headers={**city.headers, "If-Match": f'"v0", {tag}'})
    assert r.status_code == 200, r.text
    stale = client.patch(url, json={"title": "Alt"}, headers={**city.headers, "If-Match": f'"v0", {tag}'})
    assert stale.status_code == 412, stale.text
    # tags without their quotes are no entity tags: 400 naming the header (tests/requests/test_if_match_malformed.py)
    assert client.patch(url, json={"title": "Alt"}, headers={**city.headers, "If-Match": "v0, v9"}).status_code == 400
    ok(client, coordinator, rid, "propose", {"start": d(0)})
    ok(client, city, rid, "accept")
    tag = client.get(url, headers=city.headers).headers["etag"]
    weak = client.post(f"{url}/approve", headers={**coordinator.headers, "If-Match": f"W/{tag}"})
    assert weak.status_code == 412, "If-Match compares strongly: a weak tag never matches"
    r = client.post(f"{url}/approve", headers={**coordinator.headers, "If-Match": f'"v0",W/{tag} , {tag}'})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
