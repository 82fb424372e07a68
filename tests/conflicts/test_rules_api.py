"""Coordinator-managed rules: CRUD, 403 for submitters, 422 for bad geometry or periods."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from service.conflicts.models import Blackout, Corridor, Moratorium, Zone
from tests.conflicts.helpers import box, line

BOWTIE = {"type": "Polygon", "coordinates": [[[7.0, 51.44], [7.01, 51.45], [7.0, 51.45], [7.01, 51.44],
                                              [7.0, 51.44]]]}

BODIES = {
    "zones": {"name": "Innenstadt", "capacity": 3, "geometry": box(0, 0, 500, 500)},
    "corridors": {"name": "U18", "kind": "tram", "geometry": line(0, 0, 2000), "routes": ["U18"],
                  "stops": [{"id": "de:05113:9115", "name": "Hauptbahnhof"}]},
    "moratoriums": {"name": "Neu asphaltiert", "reason": "Deckenerneuerung", "geometry": box(0, 0, 100, 100),
                    "start": "2027-01-01", "end": "2029-12-31"},
    "blackouts": {"name": "Weihnachten", "geometry": None, "start": "2027-11-20", "end": "2027-12-31",
                  "max_impact": "footway"},
}
MODELS = {"zones": Zone, "corridors": Corridor, "moratoriums": Moratorium, "blackouts": Blackout}


def count(db, path: str) -> int:  # noqa: ANN001
    return db.scalar(select(func.count()).select_from(MODELS[path]))


@pytest.mark.parametrize("path", sorted(BODIES))
def test_crud_for_coordinators_read_for_everyone_403_for_submitters(client, db, city, coordinator, path) -> None:  # noqa: ANN001
    body = BODIES[path]
    assert client.post(f"/v1/{path}", json=body, headers=city.headers).status_code == 403
    assert count(db, path) == 0
    created = client.post(f"/v1/{path}", json=body, headers=coordinator.headers)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith("application/geo+json")
    rid = created.json()["id"]
    assert created.json()["properties"]["name"] == body["name"]
    listed = client.get(f"/v1/{path}", headers=city.headers)
    assert [f["id"] for f in listed.json()["features"]] == [rid]
    assert client.get(f"/v1/{path}/{rid}", headers=city.headers).status_code == 200
    assert client.patch(f"/v1/{path}/{rid}", json={"name": "x"}, headers=city.headers).status_code == 403
    assert client.delete(f"/v1/{path}/{rid}", headers=city.headers).status_code == 403
    changed = client.patch(f"/v1/{path}/{rid}", json={"name": "Umbenannt"}, headers=coordinator.headers)
    assert changed.status_code == 200 and changed.json()["properties"]["name"] == "Umbenannt"
    assert client.post(f"/v1/{path}", json={**body, "name": "Umbenannt"},
                       headers=coordinator.headers).status_code == 409
    assert client.delete(f"/v1/{path}/{rid}", headers=coordinator.headers).status_code == 204
    assert client.get(f"/v1/{path}/{rid}", headers=city.headers).status_code == 404
    assert client.get(f"/v1/{path}").status_code == 401


@pytest.mark.parametrize(("path", "change", "field"), [
    ("zones", {"geometry": BOWTIE}, "geometry"),
    ("zones", {"geometry": line(0, 0)}, "geometry"),
    ("zones", {"geometry": {"type": "Polygon", "coordinates": [[[2.0, 48.0], [2.1, 48.0], [2.1, 48.1],
                                                                [2.0, 48.0]]]}}, "geometry"),
    ("zones", {"capacity": -1}, "capacity"),
    ("corridors", {"geometry": box(0, 0, 100, 100)}, "geometry"),
    ("corridors", {"kind": "ferry"}, "kind"),
    ("corridors", {"stops": [{"id": "s1", "lon": 7.0}]}, "stops[0]"),
    ("corridors", {"stops": [{"id": "s1", "lon": 7.0, "lat": 95.0}]}, "stops[0].lat"),
    ("moratoriums", {"end": "2026-12-31"}, "end"),
    ("moratoriums", {"geometry": {"type": "Point", "coordinates": [7.0, 51.44]}}, "geometry"),
    ("blackouts", {"geometry": BOWTIE}, "geometry"),
    ("blackouts", {"start": "2028-01-01"}, "end"),
    ("blackouts", {"end": "2099-01-01"}, "end"),
    ("blackouts", {"max_impact": "apocalypse"}, "max_impact"),
])
def test_bad_rules_are_refused_with_422_and_nothing_stored(client, db, coordinator, path, change, field) -> None:  # noqa: ANN001
    r = client.post(f"/v1/{path}", json={**BODIES[path], **change}, headers=coordinator.headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field
    assert count(db, path) == 0


def test_bad_patch_changes_nothing(client, coordinator) -> None:  # noqa: ANN001
    rid = client.post("/v1/zones", json=BODIES["zones"], headers=coordinator.headers).json()["id"]
    r = client.patch(f"/v1/zones/{rid}", json={"geometry": BOWTIE}, headers=coordinator.headers)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "geometry"
    assert client.get(f"/v1/zones/{rid}", headers=coordinator.headers).json()["geometry"]["type"] == "Polygon"


def test_transit_operator_maintains_routes_and_stops_of_its_corridor(client, coordinator, make_caller) -> None:  # noqa: ANN001
    ruhrbahn = make_caller("transit_operator", "submitter", "Ruhrbahn")
    body = {**BODIES["corridors"], "owner_id": str(ruhrbahn.org_id)}
    rid = client.post("/v1/corridors", json=body, headers=coordinator.headers).json()["id"]
    stops = [{"id": "s1", "name": "Ost"}, {"id": "s2", "name": "West", "lon": 7.001, "lat": 51.44}]
    ok = client.patch(f"/v1/corridors/{rid}", json={"routes": ["U18", "107"], "stops": stops},
                      headers=ruhrbahn.headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["properties"]["routes"] == ["U18", "107"]
    assert ok.json()["properties"]["stops"] == stops  # a stop without a position stays without one
    assert client.patch(f"/v1/corridors/{rid}", json={"max_concurrent": 5},
                        headers=ruhrbahn.headers).status_code == 403


def test_a_patch_names_fields_as_a_post_does(client, coordinator) -> None:  # noqa: ANN001
    h = coordinator.headers
    rid = client.post("/v1/corridors", json=BODIES["corridors"], headers=h).json()["id"]
    bad = {"stops": [{"id": "s1", "lon": 700, "lat": 51}]}
    assert client.post("/v1/corridors", json={**BODIES["corridors"], "name": "B1", **bad},
                       headers=h).json()["errors"][0]["field"] == "stops[0].lon"
    r = client.patch(f"/v1/corridors/{rid}", json=bad, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "stops[0].lon", r.text
    client.post("/v1/corridors", json={**BODIES["corridors"], "name": "U11"}, headers=h)
    r = client.patch(f"/v1/corridors/{rid}", json={"name": "U11"}, headers=h)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name", r.text
    assert client.get(f"/v1/corridors/{rid}", headers=h).json()["properties"]["name"] == "U18"


@pytest.mark.parametrize(("path", "change", "field"), [
    ("zones", {"capacity": True}, "capacity"),
    ("zones", {"capacity": "2"}, "capacity"),
    ("corridors", {"max_concurrent": "2"}, "max_concurrent"),
    ("corridors", {"max_concurrent": False}, "max_concurrent"),
    ("corridors", {"buffer_m": True}, "buffer_m"),
    ("corridors", {"stops": [{"id": "s1", "lon": "7.0", "lat": 51.44}]}, "stops[0].lon"),
    ("moratoriums", {"start": "2027-01-01T00:00:00+14:00"}, "start"),
    ("moratoriums", {"end": 1893456000}, "end"),
    ("blackouts", {"start": "1803859200"}, "start"),
    ("blackouts", {"end": "2027-12-31T00:00:00Z"}, "end"),
    ("zones", {"name": "   "}, "name"),
    ("corridors", {"name": "\u200b"}, "name"),
    ("moratoriums", {"name": "\ufeff "}, "name"),
    ("blackouts", {"name": "\u00a0"}, "name"),
])
def test_rules_take_numbers_days_and_names_only(client, db, coordinator, path, change, field) -> None:  # noqa: ANN001
    h = coordinator.headers
    r = client.post(f"/v1/{path}", json={**BODIES[path], **change}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
    assert count(db, path) == 0
    rid = client.post(f"/v1/{path}", json=BODIES[path], headers=h).json()["id"]
    r = client.patch(f"/v1/{path}/{rid}", json=change, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, r.text
